# Trust-root rotation: a site holding root 1 accepts a bundle that carries roots 2 and 3
# (each signed by the previous root's keys and its own); a broken chain is refused.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
mk_tree
cd "$T"
R="$B root"
# Root 1: root key k1, releases r1. Root 2: root key k2, releases r2. Root 3: k3, r3.
$R init --out root1 --root-key keys/k1.pub --root-threshold 1 --release-key keys/r1.pub --release-threshold 1 >/dev/null
$R sign root1 --key keys/k1.key >/dev/null
$R init --out root2 --version 2 --root-key keys/k2.pub --root-threshold 1 --release-key keys/r2.pub --release-threshold 1 >/dev/null
$R sign root2 --key keys/k1.key >/dev/null
$R sign root2 --key keys/k2.key >/dev/null
$R init --out root3 --version 3 --root-key keys/k3.pub --root-threshold 1 --release-key keys/r3.pub --release-threshold 1 >/dev/null
$R sign root3 --key keys/k2.key >/dev/null
$R sign root3 --key keys/k3.key >/dev/null
expect_rc 0 $R show root3 --prev root2
ok "root show checks a successor"

sed -i 's/^sequence: .*/sequence: 1\nmin_root_version: 3/' spec.yaml
"$B" create spec.yaml --out chain.exb --no-encrypt --root-chain root2 --root-chain root3 >/dev/null
sign_with chain.exb r3
expect_rc 0 "$B" verify chain.exb --root root1 --json
[ "$(jq -r .root_version "$T/out")" = 3 ] || fail "chain not walked to version 3"
ok "site on root 1 walks 1 -> 2 -> 3 and accepts a bundle signed by root 3's release key"

# The old release key is revoked by rotation: r1 no longer counts.
"$B" create spec.yaml --out old.exb --no-encrypt --root-chain root2 --root-chain root3 >/dev/null
sign_with old.exb r1
expect_rc 1 "$B" verify old.exb --root root1
expect_contains "$T/err" "unknown key"
ok "a release key dropped by a newer root no longer counts"

# Without the chain the bundle needs root 3: refused with the reason.
"$B" create spec.yaml --out nochain.exb --no-encrypt >/dev/null
sign_with nochain.exb r3
expect_rc 1 "$B" verify nochain.exb --root root1
expect_contains "$T/err" "unknown key"

# Broken chain: root 3 signed only by its own key (not by root 2's k2).
$R init --out bad3 --version 3 --root-key keys/k3.pub --root-threshold 1 --release-key keys/r3.pub --release-threshold 1 >/dev/null
$R sign bad3 --key keys/k3.key >/dev/null
expect_rc 1 $R show bad3 --prev root2
"$B" create spec.yaml --out broken.exb --no-encrypt --root-chain root2 --root-chain bad3 >/dev/null
sign_with broken.exb r3
expect_rc 1 "$B" verify broken.exb --root root1
expect_contains "$T/err" "root chain: roots/3"
expect_contains "$T/err" "by root keys of version 2, threshold is 1"
ok "a root not signed by its predecessor's keys breaks the chain: refused, named"

# Gap: roots 1 -> 3 without 2 stops at 1, and min-root-version 3 is not met.
"$B" create spec.yaml --out gap.exb --no-encrypt --root-chain root3 >/dev/null
sign_with gap.exb r3
expect_rc 1 "$B" verify gap.exb --root root1
ok "a gap in the chain is not jumped"

# Expired root is refused at verify time.
$R init --out exp1 --root-key keys/k1.pub --root-threshold 1 --release-key keys/r1.pub --release-threshold 1 --created 1000 --expires 2000 >/dev/null
$R sign exp1 --key keys/k1.key >/dev/null
sed -i 's/^min_root_version: 3/min_root_version: 1/' spec.yaml
"$B" create spec.yaml --out e.exb --no-encrypt >/dev/null
sign_with e.exb r1
expect_rc 1 "$B" verify e.exb --root exp1
expect_contains "$T/err" "root version 1 expired"
ok "an expired root is refused"

# A root expires a year after its creation unless --expires says otherwise; 'never' only by
# choice. root init for version 2 says that version 1's root keys must sign it too.
"$B" root init --out dflt --root-key keys/k1.pub --root-threshold 1 --release-key keys/r1.pub \
	--release-threshold 1 --created 2026-01-01 >"$T/init.out"
expect_contains "$T/init.out" "expires: 2027-01-01"
"$B" root sign dflt --key keys/k1.key >/dev/null
expect_rc 0 "$B" root show dflt --json
[ "$(jq -r .expires "$T/out")" = 2027-01-01T00:00:00Z ] || fail "default expiry: $(jq -r .expires "$T/out")"
"$B" create spec.yaml --out d.exb --no-encrypt >/dev/null
sign_with d.exb r1
expect_rc 1 "$B" verify d.exb --root dflt --now 2027-01-02
expect_contains "$T/err" "root version 1 expired"
"$B" root init --out nev --root-key keys/k1.pub --root-threshold 1 --release-key keys/r1.pub \
	--release-threshold 1 --expires never >"$T/init.out"
expect_contains "$T/init.out" "expires: never"
"$B" root init --out v2 --version 2 --root-key keys/k2.pub --root-threshold 1 \
	--release-key keys/r1.pub --release-threshold 1 >"$T/init.out"
expect_contains "$T/init.out" "version 1's root keys must sign it too"
ok "roots expire after 365 days by default, 'never' only when asked; root init N+1 names the old keys"
