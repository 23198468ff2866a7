# exai-bundle: release and root secret keys are password-protected by default. keygen asks
# twice on a real terminal (tmux) without echo; sign and root sign ask once for a protected
# key; off a terminal both refuse and name the options; a wrong password writes nothing.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
command -v tmux >/dev/null || fail "tmux not installed (scripts/deps.sh installs it)"
TM="tmux -L exai-pw-$$ -f /dev/null"
trap '$TM kill-server 2>/dev/null || true; rm -rf "$T"' EXIT
cd "$T"
PW=tmux-typed-s3cret
export SOURCE_DATE_EPOCH=1750000000

# tm_run NAME CMD: CMD in a new terminal (tmux session NAME); its exit code goes to NAME.rc
# and the session stays open so its screen can be read.
tm_run() {
	rm -f "$T/$1.rc"
	$TM new-session -d -s "$1" -c "$T" -x 200 -y 50 "$2; echo \$? >$T/$1.rc; exec sleep 120"
}
screen() { $TM capture-pane -p -J -t "$1"; }
# wait_screen NAME TEXT: until the terminal shows TEXT (30 s: 10 s was seen to run out on a
# loaded machine). Also after wait_rc: tmux may draw the last output after the exit code is in.
wait_screen() {
	i=0
	until screen "$1" | grep -qF -- "$2"; do
		i=$((i + 1))
		[ $i -lt 600 ] || { screen "$1" >&2; fail "$1: '$2' never appeared on the terminal"; }
		sleep 0.05
	done
}
# wait_rc NAME WANT: until CMD has ended (60 s: scrypt under load), then checks its exit code.
wait_rc() {
	i=0
	until [ -s "$T/$1.rc" ]; do
		i=$((i + 1))
		[ $i -lt 1200 ] || { screen "$1" >&2; fail "$1: did not finish"; }
		sleep 0.05
	done
	got=$(cat "$T/$1.rc")
	[ "$got" = "$2" ] || { screen "$1" >&2; fail "$1: exit $got, expected $2"; }
}
type_line() { $TM send-keys -t "$1" -l "$2" && $TM send-keys -t "$1" Enter; }

mkdir keys
# 1. keygen on a terminal: two prompts, nothing echoed, an encrypted key file.
tm_run kg "$B keygen --type release --out keys/pw --kdf interactive"
wait_screen kg "Password for the new release key keys/pw.key: "
type_line kg "$PW"
wait_screen kg "Password (again): "
type_line kg "$PW"
wait_rc kg 0
wait_screen kg "password-protected"
screen kg >kg.screen
expect_not_contains kg.screen "$PW"
[ "$(head -1 keys/pw.key)" = "untrusted comment: exai release key, minisign encrypted secret key" ] ||
	fail "keygen on a terminal wrote no encrypted key: $(head -1 keys/pw.key)"
[ -f keys/pw.pub ] || fail "no public key written"
ok "keygen on a terminal asks twice without echo and writes an encrypted release key"

# 2. Two different passwords: refused, no file written.
tm_run mm "$B keygen --type root --out keys/mm --kdf interactive"
wait_screen mm "Password for the new root key keys/mm.key: "
type_line mm "one-password"
wait_screen mm "Password (again): "
type_line mm "another-password"
wait_rc mm 2
wait_screen mm "the two passwords do not match"
[ ! -e keys/mm.key ] && [ ! -e keys/mm.pub ] || fail "mismatched passwords left key files"
# An empty password is refused too.
tm_run em "$B keygen --type root --out keys/em --kdf interactive"
wait_screen em "Password for the new root key"
$TM send-keys -t em Enter
wait_rc em 2
wait_screen em "empty password"
[ ! -e keys/em.key ] && [ ! -e keys/em.pub ] || fail "an empty password left key files"
ok "keygen refuses two different passwords and an empty one, leaving no files"

# 3. Ctrl-C at the prompt: the terminal gets its echo back, no files are left.
# (The shell around it catches SIGINT, which keygen then gets with its default action.)
tm_run ic "trap true INT; $B keygen --type release --out keys/ic --kdf interactive; echo \$? >ic.kg; stty -a >ic.stty"
wait_screen ic "Password for the new release key"
$TM send-keys -t ic C-c
wait_rc ic 0 # the exit code of stty
[ "$(cat ic.kg)" = 130 ] || fail "keygen was not ended by SIGINT: exit $(cat ic.kg)"
grep -qE '(^| )echo( |$)' ic.stty || { cat ic.stty >&2; fail "echo not restored after Ctrl-C"; }
[ ! -e keys/ic.key ] && [ ! -e keys/ic.pub ] || fail "Ctrl-C at the prompt left key files"
ok "Ctrl-C at the password prompt restores echo and leaves no files"

# 4. Off a terminal, without --password-file or --no-password: refused, no files.
for type in release root; do
	expect_rc 2 "$B" keygen --type $type --out keys/nt </dev/null
	expect_contains "$T/err" "give --password-file FILE, or --no-password"
	[ ! -e keys/nt.key ] && [ ! -e keys/nt.pub ] || fail "$type: refused keygen left key files"
done
expect_rc 2 "$B" keygen --type release --out keys/both --no-password --password-file /dev/null
expect_rc 2 "$B" keygen --type site --out keys/st --no-password
expect_contains "$T/err" "site keys have no password"
expect_rc 0 "$B" keygen --type site --out keys/st </dev/null
expect_rc 0 "$B" keygen --type release --no-password --out keys/clear </dev/null
[ "$(head -1 keys/clear.key)" = "untrusted comment: exai release key, minisign secret key" ] ||
	fail "--no-password: $(head -1 keys/clear.key)"
ok "off a terminal keygen needs --password-file or --no-password; site keys take neither"

# 5. sign with the protected key: off a terminal refused; wrong password refused; both
# leave the bundle as it was. On a terminal it asks once.
mk_keys
mk_tree
"$B" root init --out keys/root --root-key keys/k1.pub --root-threshold 1 \
	--release-key keys/pw.pub --release-threshold 1 --created 1700000000 --expires never >/dev/null
"$B" root sign keys/root --key keys/k1.key >/dev/null
expect_rc 0 "$B" create spec.yaml --out b.exb --no-encrypt
before=$(sha256sum b.exb)
expect_rc 2 "$B" sign b.exb --key keys/pw.key </dev/null
expect_contains "$T/err" "keys/pw.key is password-protected and standard input is not a terminal"
expect_contains "$T/err" "give --password-file FILE"
(umask 077 && printf 'not-the-password\n' >wrong.pw && printf '%s\n' "$PW" >right.pw)
expect_rc 2 "$B" sign b.exb --key keys/pw.key --password-file wrong.pw
expect_contains "$T/err" "wrong password for keys/pw.key"
[ "$(sha256sum b.exb)" = "$before" ] || fail "a refused sign changed the bundle"
tm_run sw "$B sign b.exb --key keys/pw.key"
wait_screen sw "Password for keys/pw.key: "
type_line sw "not-the-password"
wait_rc sw 2
wait_screen sw "wrong password for keys/pw.key"
[ "$(sha256sum b.exb)" = "$before" ] || fail "a wrong typed password changed the bundle"
ok "sign with a protected key: refused off a terminal and with a wrong password, bundle unchanged"

cp b.exb b2.exb
tm_run sg "$B sign b.exb --key keys/pw.key"
wait_screen sg "Password for keys/pw.key: "
type_line sg "$PW"
wait_rc sg 0
wait_screen sg "signed"
screen sg >sg.screen
expect_not_contains sg.screen "$PW"
expect_rc 0 "$B" verify b.exb --root keys/root --now 1750000001
expect_rc 0 "$B" sign b2.exb --key keys/pw.key --password-file right.pw </dev/null
expect_rc 0 "$B" verify b2.exb --root keys/root --now 1750000001
ok "sign asks once for the password on a terminal, takes --password-file off one; both verify"

# 6. root sign asks too: off a terminal it refuses, with --password-file it signs.
(umask 077 && printf 'root-pw\n' >root.pw)
expect_rc 0 "$B" keygen --type root --out keys/rk --password-file root.pw --kdf interactive </dev/null
expect_contains "$T/out" "password-protected"
"$B" root init --out keys/root2 --root-key keys/rk.pub --root-threshold 1 \
	--release-key keys/pw.pub --release-threshold 1 --created 1700000000 --expires never >/dev/null
expect_rc 2 "$B" root sign keys/root2 --key keys/rk.key </dev/null
expect_contains "$T/err" "keys/rk.key is password-protected"
tm_run rs "$B root sign keys/root2 --key keys/rk.key"
wait_screen rs "Password for keys/rk.key: "
type_line rs "root-pw"
wait_rc rs 0
expect_rc 0 "$B" root show keys/root2
ok "root sign asks for a protected root key's password on a terminal, refuses off one"
