# exai-bundle create: spec errors name file:line:column; bad sources, a source changing
# while being read and a full disk give a clear error and leave no bundle behind.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
mk_tree
cd "$T"
no_output() {
	[ ! -e "$1" ] || fail "$1 exists after a failure"
	[ -z "$(ls "$(dirname "$1")" | grep '\.tmp\.')" ] || fail "temp files left next to $1"
}

printf 'channel: stable\nsequence: 1\nexpires_in_days: 3\ntarget: {classes: [a]}\ncomponents:\n  - {type: sofware, name: a, version: "1", source: src/app}\n' >bad1.yaml
expect_rc 2 "$B" create bad1.yaml --out o --no-encrypt
expect_contains "$T/err" "bad1.yaml:6:"
expect_contains "$T/err" "unknown type 'sofware'"
printf 'channel: stable\nsequence: -1\n' >bad2.yaml
expect_rc 2 "$B" create bad2.yaml --out o --no-encrypt
expect_contains "$T/err" "bad2.yaml:"
printf 'channel: [unclosed\n' >bad3.yaml
expect_rc 2 "$B" create bad3.yaml --out o --no-encrypt
expect_contains "$T/err" "bad3.yaml:2:1:"
printf 'channel: stable\nsequence: 1\nexpires_in_days: 3\ntarget: {classes: [a]}\ncolour: red\ncomponents: []\n' >bad4.yaml
expect_rc 2 "$B" create bad4.yaml --out o --no-encrypt
expect_contains "$T/err" "bad4.yaml:5:1: unknown key 'colour'"
expect_not_contains "$T/err" "did you mean"
# A typo of a known key: the key it probably is, at the top level and inside target.
printf 'chanel: stable\nsequence: 1\nexpires_in_days: 3\ntarget: {classes: [a]}\ncomponents: []\n' >bad5.yaml
expect_rc 2 "$B" create bad5.yaml --out o --no-encrypt
expect_contains "$T/err" "bad5.yaml:1:1: unknown key 'chanel' (did you mean 'channel'?)"
printf 'channel: stable\nsequence: 1\nexpires_in_days: 3\ntarget: {clases: [a]}\ncomponents: []\n' >bad6.yaml
expect_rc 2 "$B" create bad6.yaml --out o --no-encrypt
expect_contains "$T/err" "unknown key 'clases' (did you mean 'classes'?)"
no_output o
ok "spec errors name file:line:column (a mistyped key with the key it probably is) and leave nothing behind"

sed 's#src/model.safetensors#src/missing.bin#' spec.yaml >miss.yaml
expect_rc 2 "$B" create miss.yaml --out o.exb --no-encrypt
expect_contains "$T/err" "miss.yaml:"
expect_contains "$T/err" "missing.bin: No such file"
no_output o.exb
ok "missing source named with its spec location"

mkfifo src/app/fifo
expect_rc 1 "$B" create spec.yaml --out o.exb --no-encrypt
expect_contains "$T/err" "fifo: devices, FIFOs and sockets cannot be bundled"
rm src/app/fifo
ln -s /etc/passwd src/app/escape
expect_rc 1 "$B" create spec.yaml --out o.exb --no-encrypt
expect_contains "$T/err" "leaves the tree"
rm src/app/escape
cp src/app/bin/run src/app/bin/suid && chmod 4755 src/app/bin/suid
expect_rc 1 "$B" create spec.yaml --out o.exb --no-encrypt
expect_contains "$T/err" "setuid/setgid file"
rm src/app/bin/suid
no_output o.exb
ok "FIFOs, escaping symlinks and undeclared setuid files refused at create"

expect_rc 2 "$B" create spec.yaml --out o.exb
expect_contains "$T/err" "--recipient"
expect_rc 0 "$B" create spec.yaml --out o.exb --no-encrypt
expect_rc 1 "$B" create spec.yaml --out o.exb --no-encrypt
expect_contains "$T/err" "already exists"
ok "encryption is the default; an existing bundle is never replaced"

# A source that changes between planning and reading.
for form in c1.exb c2; do
	EXAI_FAULT=create.planned:1:stop "$B" create spec.yaml --out "$form" --no-encrypt >"$T/out" 2>"$T/err" &
	pid=$!
	i=0
	while [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" != T ]; do
		i=$((i + 1))
		[ $i -lt 500 ] || fail "create did not stop at create.planned"
		sleep 0.02
	done
	head -c 100 /dev/urandom >>src/model.safetensors
	kill -CONT $pid
	set +e
	wait $pid
	rc=$?
	set -e
	[ $rc = 1 ] || fail "changed source: exit $rc"
	expect_contains "$T/err" "model.safetensors: source changed while being read"
	no_output "$form"
done
ok "a source that changes while being read is refused; no bundle left"

# A full disk (root: a 2 MiB tmpfs in a private mount namespace).
if [ "$(id -u)" = 0 ]; then
	mkdir small
	set +e
	unshare -m sh -c "mount -t tmpfs -o size=2m tmpfs small && \"$B\" create spec.yaml --out small/o.exb --no-encrypt; echo rc=\$? >small-rc; ls -A small >small-ls" >"$T/out" 2>"$T/err"
	set -e
	expect_contains small-rc "rc=1"
	expect_contains "$T/err" "No space left on device"
	[ ! -s small-ls ] || { cat small-ls; fail "files left on the full filesystem"; }
	ok "ENOSPC: clear error, nothing left on the full filesystem"
else
	echo "skip: ENOSPC test needs root (CI runs it)"
fi

# What exai-update refuses without a manifest flag is refused at create without the spec key.
cd "$T"
mkdir -p src/app/spool && chmod 0777 src/app/spool
expect_rc 1 "$B" create spec.yaml --out ww.exb --no-encrypt
expect_contains "$T/err" "spool: world-writable directory (mode 0777); remove o+w, add the sticky bit or declare 'world_writable: true'"
chmod 1777 src/app/spool
expect_rc 0 "$B" create spec.yaml --out ww1.exb --no-encrypt
chmod 0755 src/app/spool && chmod 0666 src/app/bin/run
expect_rc 1 "$B" create spec.yaml --out ww.exb --no-encrypt
expect_contains "$T/err" "run: world-writable file (mode 0666)"
chmod 0755 src/app/bin/run && chmod 2755 src/app/spool
expect_rc 1 "$B" create spec.yaml --out ww.exb --no-encrypt
expect_contains "$T/err" "spool: setuid/setgid directory"
chmod 00777 src/app/spool
sed 's#source: src/app}#source: src/app, world_writable: true}#' spec.yaml >ww.yaml
expect_rc 0 "$B" create ww.yaml --out ww2.exb --no-encrypt
expect_rc 0 "$B" inspect ww2.exb --json
expect_contains "$T/out" '"world_writable": true'
chmod 00755 src/app/spool
no_output ww.exb
ok "world-writable files and dirs, setgid dirs refused at create without the spec key; world_writable: true flags the manifest"
