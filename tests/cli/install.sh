#!/bin/sh
# make install's layout (cmake --install into a temp DESTDIR, at the prefix the build was
# configured with, as make install does: P below, /usr/local by default): every tool, the
# verifier's rules where the installed binary finds them, the systemd units with true paths
# (exai-mirror's hardened: own user, NoNewPrivileges, ProtectSystem=strict, PrivateNetwork),
# man pages that name every command the tool's --help lists, bash completion that offers the
# commands, the guides and example configs; and each installed tool answers --version.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
D="$T/root"
P=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$EXAI_BUILD/CMakeCache.txt")
case $P in /*) ;; *) fail "no install prefix in $EXAI_BUILD/CMakeCache.txt" ;; esac
DESTDIR="$D" cmake --install "$EXAI_BUILD" >"$T/log" 2>&1 || fail "cmake --install: $(tail -5 "$T/log")"
D="$D$P"
for f in bin/exai-bundle sbin/exai-update bin/airgap-verifier \
	share/exai/airgap-verifier/default.yaml lib/systemd/system/exai-update-recover.service \
	share/man/man1/exai-bundle.1 share/man/man8/exai-update.8 \
	share/man/man1/airgap-verifier.1 share/man/man8/exai-mirror.8 sbin/exai-mirror \
	share/bash-completion/completions/exai-mirror share/bash-completion/completions/exai-bundle \
	share/bash-completion/completions/exai-update \
	share/bash-completion/completions/airgap-verifier share/doc/exai/format.md \
	share/doc/exai/update.md share/doc/exai/update.yaml.example \
	share/doc/exai/host.yaml.example; do
	[ -f "$D/$f" ] || fail "not installed: $P/$f"
done
# exai-egress is built (and installed) where bpftool, clang, libbpf and the kernel's BTF are.
egress=
if [ -x "$EXAI_BUILD/bpf/exai-egress" ]; then
	egress=sbin/exai-egress
	for f in sbin/exai-egress share/man/man8/exai-egress.8 \
		share/bash-completion/completions/exai-egress share/doc/exai/egress.md; do
		[ -f "$D/$f" ] || fail "not installed: $P/$f"
	done
fi
# --version from the installed place.
for t in bin/exai-bundle sbin/exai-update bin/airgap-verifier sbin/exai-mirror $egress; do
	"$D/$t" --version >"$T/v" 2>&1 || fail "/$t --version exited $?"
	head -1 "$T/v" | grep -qx "$(basename "$t") [0-9][0-9.]*" || fail "/$t --version: $(head -1 "$T/v")"
done
# The installed verifier finds the installed rules (../share/exai/airgap-verifier).
mkdir "$T/tree"
echo 'fetch("https://collector.acme-analytics.net/v1/collect")' >"$T/tree/app.js"
rc=0
"$D/bin/airgap-verifier" scan "$T/tree" --format json >"$T/scan" 2>"$T/scan.err" || rc=$?
[ "$rc" = 1 ] || fail "installed scan exited $rc (want 1: a finding): $(cat "$T/scan.err")"
grep -q "collector.acme-analytics.net" "$T/scan" || fail "installed scan did not report the URL"
# The unit names the installed binary and the installed guide; no template left anywhere.
unit="$D/lib/systemd/system/exai-update-recover.service"
grep -qx "ExecStart=$P/sbin/exai-update --config /etc/exai/update.yaml recover" "$unit" ||
	fail "unit ExecStart: $(grep ExecStart "$unit")"
grep -qx "Documentation=file:$P/share/doc/exai/update.md" "$unit" || fail "unit Documentation path"
# exai-mirror's unit: the installed binary, its own user, hardened, no network at all.
unit="$D/lib/systemd/system/exai-mirror.service"
[ -f "$unit" ] || fail "not installed: $P/lib/systemd/system/exai-mirror.service"
for l in "ExecStart=$P/sbin/exai-mirror serve --config /etc/exai/mirror.yaml" \
	"Documentation=file:$P/share/doc/exai/mirror.md" User=exai-mirror NoNewPrivileges=yes \
	ProtectSystem=strict PrivateNetwork=yes RestrictAddressFamilies=AF_UNIX \
	StateDirectory=exai-mirror RuntimeDirectory=exai-mirror CapabilityBoundingSet=; do
	grep -qxF -- "$l" "$unit" || fail "exai-mirror.service lacks '$l'"
done
! grep -q '^ReadWritePaths=/\s*$\|^ProtectSystem=\(no\|false\)' "$unit" || fail "exai-mirror.service unprotected"
if command -v systemd-analyze >/dev/null; then
	# Checked with ExecStart pointing at the binary installed in the temp root.
	sed "s|^ExecStart=$P/|ExecStart=$D/|" "$unit" >"$T/exai-mirror.service"
	systemd-analyze verify "$T/exai-mirror.service" >"$T/sa" 2>&1 ||
		fail "systemd-analyze verify exai-mirror.service: $(cat "$T/sa")"
	# It only warns about an unknown or misspelt key: any word from it is a failure.
	[ ! -s "$T/sa" ] || fail "systemd-analyze verify exai-mirror.service: $(cat "$T/sa")"
fi
# exai-egress serve's unit: the installed binary, hardened, unix sockets only, bpffs writable.
if [ -n "$egress" ]; then
	unit="$D/lib/systemd/system/exai-egress.service"
	[ -f "$unit" ] || fail "not installed: $P/lib/systemd/system/exai-egress.service"
	[ -f "$D/share/doc/exai/egress.yaml.example" ] || fail "not installed: egress.yaml.example"
	for l in "ExecStart=$P/sbin/exai-egress serve --config /etc/exai/egress.yaml" \
		"Documentation=file:$P/share/doc/exai/egress.md" NoNewPrivileges=yes \
		ProtectSystem=strict ReadWritePaths=/sys/fs/bpf PrivateNetwork=yes \
		RestrictAddressFamilies=AF_UNIX StateDirectory=exai-egress RuntimeDirectory=exai-egress \
		"CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN CAP_PERFMON CAP_SYS_RESOURCE"; do
		grep -qxF -- "$l" "$unit" || fail "exai-egress.service lacks '$l'"
	done
	if command -v systemd-analyze >/dev/null; then
		sed "s|^ExecStart=$P/|ExecStart=$D/|" "$unit" >"$T/exai-egress.service"
		systemd-analyze verify "$T/exai-egress.service" >"$T/sa" 2>&1 ||
			fail "systemd-analyze verify exai-egress.service: $(cat "$T/sa")"
		[ ! -s "$T/sa" ] || fail "systemd-analyze verify exai-egress.service: $(cat "$T/sa")"
	fi
fi
grep -q "$P/share/exai/airgap-verifier/default.yaml" "$D/share/man/man1/airgap-verifier.1" ||
	fail "airgap-verifier.1 does not name the installed rules"
! grep -rl '@EXAI_' "$D" >/dev/null || fail "unsubstituted template in $(grep -rl '@EXAI_' "$D" | head -1)"
# Man pages: every command of each tool's --help is in its page.
page() { case $1 in exai-update | exai-mirror | exai-egress) echo "$D/share/man/man8/$1.8" ;; *) echo "$D/share/man/man1/$1.1" ;; esac; }
for tool in exai-bundle exai-update airgap-verifier exai-mirror ${egress:+exai-egress}; do
	p=$(page "$tool")
	grep -q '^\.TH ' "$p" || fail "$p: no .TH header"
	bin=$(find "$D/bin" "$D/sbin" -name "$tool" -type f)
	"$bin" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' >"$T/cmds.$tool"
	[ -s "$T/cmds.$tool" ] || fail "$tool --help lists no commands"
	while read -r c; do
		grep -q "\\b$c\\b" "$p" || fail "$p does not mention the command '$c'"
	done <"$T/cmds.$tool"
done
# Completion: the first word offers the commands.
out=$(bash -c '. "$1"; COMP_WORDS=(exai-bundle ""); COMP_CWORD=1; _exai_bundle; echo "${COMPREPLY[*]}"' \
	sh "$D/share/bash-completion/completions/exai-bundle")
for c in keygen root create sign inspect verify; do
	case " $out " in *" $c "*) ;; *) fail "completion lacks '$c': $out" ;; esac
done
out=$(bash -c '. "$1"; COMP_WORDS=(exai-update --config x ""); COMP_CWORD=3; _exai_update; echo "${COMPREPLY[*]}"' \
	sh "$D/share/bash-completion/completions/exai-update")
case " $out " in *" apply "*) ;; *) fail "exai-update completion after --config: $out" ;; esac
out=$(bash -c '. "$1"; COMP_WORDS=(exai-mirror --config x ""); COMP_CWORD=3; _exai_mirror; echo "${COMPREPLY[*]}"' \
	sh "$D/share/bash-completion/completions/exai-mirror")
for c in serve keygen prove verify query stats; do
	case " $out " in *" $c "*) ;; *) fail "exai-mirror completion lacks '$c': $out" ;; esac
done
echo "install: ok"
