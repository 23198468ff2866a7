#!/bin/sh
# Signed egress policies: with a 2-of-2 trust root (exai-bundle root init, the root exai-update
# uses), a policy is put in force only with valid minisign signatures by two DISTINCT release
# keys. Refused, each leaving the old policy in force (probe and event still say generation 1):
# no signature, a key outside the root, a signature over other bytes (a local edit), one key
# signing twice, one key only, and a validly signed policy older than the one in force (its
# sequence). --unsigned is explicit and visible in status.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

mk_keys
mk_root 2 root.yaml r1 r2
ROOT="$T/keys/root.yaml"
sign() { # sign FILE KEY OUT
	minisign -S -s "$T/keys/$2.key" -m "$1" -x "$3" </dev/null >/dev/null 2>&1 || fail "minisign -S $1 with $2"
}
start_servers
mkpolicy() { # mkpolicy FILE ADDR...
	f=$1
	shift
	printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n' "$CG" >"$f"
	for a in "$@"; do printf '      - {cidr: %s/32, protocol: tcp}\n' "$a" >>"$f"; done
}
mkpolicy "$T/p1.yaml" 127.0.0.1
sign "$T/p1.yaml" r1 "$T/p1.yaml.minisig"
sign "$T/p1.yaml" r2 "$T/p1.r2.minisig"
expect_rc 0 exai-egress apply --policy "$T/p1.yaml" --root "$ROOT" --sig "$T/p1.yaml.minisig" --sig "$T/p1.r2.minisig"
expect_contains "$T/out" "generation 1"
expect_contains "$T/out" "signed by"
expect_rc 0 exai-egress status --json
jq -e '.unsigned == false and (.signers | split(" ") | length) == 2' "$T/out" >/dev/null || fail "status: $(cat "$T/out")"
expect_rc 0 exai-egress status
expect_not_contains "$T/out" "UNSIGNED"
expect_contains "$T/out" "signed by: "
ok "2-of-2 signed policy applied; status names both signers"

still_gen1() { # the old policy is in force: 127.0.0.2 denied with a generation-1 event
	expect_rc 0 exai-egress status --json
	jq -e '.generation == 1 and .attached' "$T/out" >/dev/null || fail "status after refusal: $(cat "$T/out")"
	expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
	expect_event '.generation == 1 and .daddr == "127.0.0.2"'
}

mkpolicy "$T/p2.yaml" 127.0.0.1 127.0.0.2
expect_rc 1 exai-egress apply --policy "$T/p2.yaml"
expect_contains "$T/err" "a policy is accepted only signed"
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT"
expect_contains "$T/err" "p2.yaml.minisig"
expect_contains "$T/err" "signed by 0 distinct release keys of trust root v1, 2 needed"
still_gen1
ok "unsigned policy refused (no --root; --root without signatures); generation 1 stays"

sign "$T/p2.yaml" r1 "$T/p2.r1.minisig"
sign "$T/p2.yaml" r3 "$T/p2.r3.minisig"
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT" --sig "$T/p2.r1.minisig" --sig "$T/p2.r3.minisig"
expect_contains "$T/err" "is not a release key of the trust root"
expect_contains "$T/err" "signed by 1 distinct release key of trust root v1, 2 needed"
still_gen1
ok "a signature by a key outside the root does not count"

sign "$T/p2.yaml" r2 "$T/p2.r2.minisig"
cp "$T/p2.yaml" "$T/p2.orig"
printf '      - {cidr: 0.0.0.0/0, protocol: any}\n' >>"$T/p2.yaml"
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT" --sig "$T/p2.r1.minisig" --sig "$T/p2.r2.minisig"
expect_contains "$T/err" "signed by 0 distinct release keys"
still_gen1
cp "$T/p2.orig" "$T/p2.yaml"
ok "a local edit of a signed policy (widening egress) is refused"

sign "$T/p2.yaml" r1 "$T/p2.r1b.minisig"
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT" --sig "$T/p2.r1.minisig" --sig "$T/p2.r1b.minisig"
expect_contains "$T/err" "same release key as another signature: counted once"
expect_contains "$T/err" "signed by 1 distinct release key of trust root v1, 2 needed"
still_gen1
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT" --sig "$T/p2.r1.minisig"
expect_contains "$T/err" "signed by 1 distinct release key"
still_gen1
ok "one key signing twice does not meet 2-of-2; one key alone neither"

expect_rc 2 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT" --unsigned
expect_contains "$T/err" "exclude each other"
expect_rc 0 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT" --sig "$T/p2.r2.minisig" --sig "$T/p2.r1.minisig"
expect_contains "$T/out" "generation 2"
expect_probe ok tcp 127.0.0.2 "$TCP4B"
expect_no_event
ok "signed by both keys: generation 2 in force"

# the ratchet: a signed policy below the sequence in force is a replay
sign2() { sign "$1" r1 "$1.r1.minisig" && sign "$1" r2 "$1.r2.minisig"; }
apply2() { exai-egress apply --policy "$1" --root "$ROOT" --sig "$1.r1.minisig" --sig "$1.r2.minisig"; }
mkpolicy "$T/p3.yaml" 127.0.0.1
printf 'sequence: 5\n' >>"$T/p3.yaml"
mkpolicy "$T/p4.yaml" 127.0.0.1 127.0.0.2 127.0.0.3
printf 'sequence: 4\n' >>"$T/p4.yaml"
sign2 "$T/p3.yaml"
sign2 "$T/p4.yaml"
expect_rc 0 apply2 "$T/p3.yaml"
expect_contains "$T/out" "generation 3"
expect_rc 1 apply2 "$T/p4.yaml"
expect_contains "$T/err" "sequence 4 is older than sequence 5 in force"
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --root "$ROOT" --sig "$T/p2.r1.minisig" --sig "$T/p2.r2.minisig"
expect_contains "$T/err" "the policy has no sequence; the signed policy in force has sequence 5"
expect_rc 0 exai-egress status --json
jq -e '.generation == 3 and .sequence == 5' "$T/out" >/dev/null || fail "status after replays: $(cat "$T/out")"
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_event '.generation == 3'
expect_rc 0 apply2 "$T/p3.yaml"
expect_contains "$T/out" "generation 4"
ok "a validly signed but older policy (lower sequence, or none) is refused as a replay"

expect_rc 0 exai-egress apply --policy "$T/p1.yaml" --unsigned
expect_rc 0 exai-egress status
expect_contains "$T/out" "(UNSIGNED: --unsigned)"
expect_rc 0 exai-egress status --json
jq -e '.unsigned == true and .signers == "" and .generation == 5 and .sequence == 5' "$T/out" >/dev/null || fail "status: $(cat "$T/out")"
ok "--unsigned is visible in status"
