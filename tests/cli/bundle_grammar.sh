# What exai-bundle and airgap-verifier print for one of something says "1 component",
# "1 chunk", "1 entry", "1 file", "its 1 component" (not "1 entries", "all 1 components"), and
# a source written "./src/app" next to the spec is named "src/app", not "././src/app".
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
mk_root 1 root r1
cd "$T"
# expect_line FILE LINE: FILE has exactly this line.
expect_line() { grep -qxF -- "$2" "$1" || { cat "$1" >&2; fail "no line '$2' in $1"; }; }
export SOURCE_DATE_EPOCH=1750000000
mkdir -p src/one src/tree/bin
printf 'hello\n' >src/one/model.bin
printf 'a\n' >src/tree/bin/a && printf 'b\n' >src/tree/bin/b
cat >one.yaml <<SPEC
channel: stable
sequence: 1
expires_in_days: 30
target: {classes: [gpu]}
components:
  - {type: model, name: m, version: "1", source: ./src/one/model.bin}
SPEC

expect_rc 0 "$B" create one.yaml --out one.exb --recipient keys/s1.pub
expect_line "$T/out" "  1 component, 6 B payload in 1 chunk, encrypted (AES-256-GCM) to the recipient site key"
expect_not_contains "$T/out" "(s)"
"$B" sign one.exb --key keys/r1.key >/dev/null
expect_rc 0 "$B" verify one.exb --root keys/root --key keys/s1.key --now 1750000001
expect_contains "$T/out" "payload:    6 B in 1 chunk of "
expect_contains "$T/out" "model    m 1 -> model.bin (raw, 6 B, 1 entry) sha256:"
expect_rc 0 airgap-verifier bundle one.exb --root keys/root --key keys/s1.key --now 1750000001
expect_contains "$T/out" "the plaintext hash of its 1 component; scanned 1 file, 6 bytes"
expect_rc 0 airgap-verifier scan src/one
expect_contains "$T/out" "note: scanned 1 file, 6 bytes"
ok "one component, chunk, entry, file: singular in create, verify and airgap-verifier"

cat >two.yaml <<SPEC
channel: stable
sequence: 2
expires_in_days: 30
target: {classes: [gpu]}
components:
  - {type: model, name: m, version: "1", source: ./src/one/model.bin}
  - {type: software, name: t, version: "1", source: ./src/tree}
SPEC
expect_rc 0 "$B" create two.yaml --out two.exb --recipient keys/s1.pub --recipient keys/s2.pub
grep -qE '^  2 components, .* in 1 chunk, encrypted \(AES-256-GCM\) to the recipient site keys$' "$T/out" ||
	{ cat "$T/out" >&2; fail "two components, two recipients: not plural"; }
expect_rc 0 "$B" inspect two.exb --key keys/s1.key
expect_contains "$T/out" "entries) sha256:"
ok "more than one: plural"

chmod 0666 src/tree/bin/a
expect_rc 1 "$B" create two.yaml --out bad.exb --no-encrypt
expect_contains "$T/err" "): src/tree/bin/a: world-writable file (mode 0666)"
expect_not_contains "$T/err" "./"
chmod 0644 src/tree/bin/a
mkdir sub && sed 's#source: ./src/one/model.bin#source: ./../src/one/missing.bin#' one.yaml >sub/one.yaml
expect_rc 2 "$B" create sub/one.yaml --out bad.exb --no-encrypt
expect_contains "$T/err" "source sub/../src/one/missing.bin: No such file or directory"
ok "a source written ./x is named as the user wrote it, without a doubled ./"
