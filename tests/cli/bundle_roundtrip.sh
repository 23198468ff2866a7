# exai-bundle: every component type round-trips through create/sign/verify, in both forms,
# encrypted and plain; plain bundles are reproducible; inspect shows what was put in.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
mk_root 2 root "r1" "r2" "r3"
mk_tree
cd "$T"
export SOURCE_DATE_EPOCH=1750000000

for form in b.exb bdir; do
	expect_rc 0 "$B" create spec.yaml --out "$form" --recipient keys/s1.pub --recipient keys/s2.pub \
		--format-version 2
	expect_contains "$T/out" "7 components,"
	expect_rc 1 "$B" verify "$form" --root keys/root --key keys/s1.key --now 1750000001
	expect_contains "$T/err" "signatures: 0 valid of the 2 required by root version 1"
	sign_with "$form" r1 r3
	for site in s1 s2; do
		expect_rc 0 "$B" verify "$form" --root keys/root --key keys/$site.key --json --now 1750000001
		[ "$(jq -r .ok "$T/out")" = true ] || fail "verify json not ok"
		[ "$(jq '.components | length' "$T/out")" = 7 ] || fail "expected 7 components"
	done
	ok "$form: encrypted to two sites, 2-of-3 signed, verified by each site"
	# Every raw component's digest (format 2: the tree of docs/format.md 7.1) is what
	# `exai-bundle digest` prints for the source file, and not its plain SHA-256.
	for pair in "model llama model.safetensors" "images base images.tar" "policy egress egress.yaml" "rootfs os rootfs.img"; do
		set -- $pair
		want=$("$B" digest "src/$3" | cut -d' ' -f1)
		got=$(jq -r ".components[] | select(.type==\"$1\" and .name==\"$2\") | .sha256" "$T/out")
		[ "$want" = "$got" ] || fail "$1/$2: manifest digest $got, exai-bundle digest $want"
		[ "$(sha256sum "src/$3" | cut -d' ' -f1)" != "$got" ] ||
			fail "$1/$2: a format-2 digest equal to sha256sum"
		enc=$(jq -r ".components[] | select(.name==\"$2\") | .encoding" "$T/out")
		[ "$enc" = raw ] || fail "$2 should be raw"
	done
	for n in app demo conf; do
		enc=$(jq -r ".components[] | select(.name==\"$n\") | .encoding" "$T/out")
		[ "$enc" = tar ] || fail "$n should be tar"
	done
	ok "$form: raw component digests equal exai-bundle digest of the sources; trees stored as tar"
	# Without the site key only ciphertext can be checked: that is not "verified" (exit 1,
	# like airgap-verifier bundle for the same input), and the tool says what was not checked.
	expect_rc 1 "$B" verify "$form" --root keys/root --now 1750000001
	expect_contains "$T/out" "NOT checked: the manifest and every component's plaintext hash"
	expect_contains "$T/err" "not verified: the bundle is encrypted and no --key was given"
	expect_not_contains "$T/out" "verified:"
	expect_rc 1 "$B" verify "$form" --root keys/root --now 1750000001 --json
	[ "$(jq -r '.ok, .complete, .error.code' "$T/out" | tr '\n' ' ')" = "false false incomplete " ] ||
		fail "$form: --json without --key"
	[ "$(jq -c .not_checked "$T/out")" = '["manifest","component plaintext hashes"]' ] ||
		fail "$form: --json not_checked"
	expect_rc 1 airgap-verifier bundle "$form" --root keys/root --now 1750000001 --format json
	[ "$(jq -r '[.findings[].rule_id] | join(" ")' "$T/out")" = bundle.encrypted ] ||
		fail "$form: airgap-verifier bundle should fail on bundle.encrypted only"
	# --signatures-only asks for the partial check explicitly: exit 0, and still says so.
	expect_rc 0 "$B" verify "$form" --root keys/root --now 1750000001 --signatures-only
	expect_contains "$T/out" "verified (--signatures-only): 2 of 2 required signatures"
	expect_contains "$T/out" "NOT checked: the manifest and every component's plaintext hash"
	expect_rc 0 "$B" verify "$form" --root keys/root --now 1750000001 --signatures-only --json
	[ "$(jq -r '.ok, .complete' "$T/out" | tr '\n' ' ')" = "true false " ] ||
		fail "$form: --signatures-only --json"
	[ "$(jq -c .not_checked "$T/out")" = '["manifest","component plaintext hashes"]' ] ||
		fail "$form: --signatures-only --json not_checked"
	expect_rc 2 "$B" verify "$form" --root keys/root --signatures-only --key keys/s1.key
	ok "$form: without --key verify exits 1 naming what was not checked; --signatures-only accepts the partial check"
	# Inspect without a key shows no component names (the manifest is encrypted).
	expect_rc 0 "$B" inspect "$form" --json
	[ "$(jq 'has("components")' "$T/out")" = false ] || fail "inspect leaked components"
	expect_not_contains "$T/out" "llama"
	ok "$form: without the site key nothing names a component"
done

# Nothing in the encrypted bundle reveals the model name or its bytes.
! grep -q "llama" b.exb || fail "model name visible in the encrypted .exb"
! grep -rq "llama" bdir || fail "model name visible in the encrypted directory"
# 64 bytes of the model must not occur in the .exb. (Not grep -F -f: the random needle may hold
# newlines, and each line of it would then be a short pattern that matches by chance.)
python3 -c 'import sys; n = open(sys.argv[1], "rb").read()[4032:4096]; sys.exit(n in open(sys.argv[2], "rb").read())' \
	src/model.safetensors b.exb || fail "plaintext visible"
ok "encrypted bundle holds neither component names nor plaintext"

# The tar tree inside keeps the symlink and the executable bit.
expect_rc 0 "$B" create spec.yaml --out plain1.exb --no-encrypt
expect_rc 0 "$B" create spec.yaml --out plain2.exb --no-encrypt
cmp plain1.exb plain2.exb || fail "plain .exb not reproducible"
expect_rc 0 "$B" create spec.yaml --out plain1d --no-encrypt
expect_rc 0 "$B" create spec.yaml --out plain2d --no-encrypt
diff -r plain1d plain2d || fail "plain directory bundle not reproducible"
[ -z "$(ls | grep "\.tmp\.")" ] || fail "temp file left behind"
ok "plain bundles built twice with the same SOURCE_DATE_EPOCH are byte-identical"

tar tvf plain1.exb >"$T/list"
expect_contains "$T/list" "index"
expect_contains "$T/list" "payload"
sign_with plain1.exb r2
expect_rc 1 "$B" verify plain1.exb --root keys/root --now 1750000001
sign_with plain1.exb r3
expect_rc 0 "$B" verify plain1.exb --root keys/root --json --now 1750000001
[ "$(jq -r .decrypted "$T/out")" = true ] || fail "plain bundle contents not checked"
[ "$(jq -r '.complete, (.not_checked | length)' "$T/out" | tr '\n' ' ')" = "true 0 " ] ||
	fail "plain bundle: verify should be complete"
[ "$(jq -r .index.encryption "$T/out")" = none ] || fail "encryption none not recorded"
ok "plain bundle: 'tar tvf' lists it, encryption none recorded, contents verified without a key"

# Both forms of the same plain bundle carry the same index.
tar xf plain1.exb -C "$T" index 2>/dev/null || tar xf plain1.exb index
cmp index plain1d/index || fail "dir and exb index differ"
ok "directory and .exb forms carry the same index"

# A tar component unpacks to the source tree (with the symlink and modes).
mkdir -p x && tar xf plain1.exb -C x payload
expect_rc 0 "$B" inspect plain1.exb --json
off=$(jq -r '.components[] | select(.name=="app") | .size' "$T/out")
mkdir -p x/app && head -c "$off" x/payload | tar xf - -C x/app
[ -L x/app/lib/run-link ] || fail "symlink lost"
[ -x x/app/bin/run ] || fail "mode lost"
[ "$(stat -c %u x/app/bin/run)" = "$(id -u)" ] || true
tar tvf - <x/payload 2>/dev/null | head -1 | grep -q "0/0" || fail "owner not 0/0"
ok "tar component keeps symlinks and modes, owner 0/0"

# Format version 1, the default (sites whose exai-update predates format 2, and appliances
# holding model versions installed from format 1): the index and the manifest say 1, raw
# components carry plain SHA-256, and today's readers accept it.
expect_rc 2 "$B" create spec.yaml --out v3.exb --no-encrypt --format-version 3
expect_contains "$T/err" "--format-version: '3' is not 1 or 2"
expect_rc 0 "$B" create spec.yaml --out v1.exb --recipient keys/s1.pub
sign_with v1.exb r1 r2
expect_rc 0 "$B" verify v1.exb --root keys/root --key keys/s1.key --json --now 1750000001
[ "$(jq -r .index.format_version "$T/out")" = 1 ] || fail "v1: format_version"
got=$(jq -r '.components[] | select(.name=="llama") | .sha256' "$T/out")
[ "$got" = "$(sha256sum src/model.safetensors | cut -d' ' -f1)" ] || fail "v1: llama is not sha256sum"
[ "$got" = "$("$B" digest --format-version 1 src/model.safetensors | cut -d' ' -f1)" ] ||
	fail "v1: exai-bundle digest --format-version 1 is not the manifest's"
expect_rc 0 airgap-verifier bundle v1.exb --root keys/root --key keys/s1.key --now 1750000001
expect_rc 0 "$B" verify b.exb --root keys/root --key keys/s1.key --json --now 1750000001
[ "$(jq -r .index.format_version "$T/out")" = 2 ] || fail "b.exb is not format 2"
ok "create writes format 1 (plain SHA-256) by default and 2 with --format-version 2; verifiers accept both"
