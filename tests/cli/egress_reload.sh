#!/bin/sh
# exai-egress reload --policy-dir: a signed policy directory is swapped in (one key short is
# refused and the old policy stays); then the soak: 1,000 swaps between two policies while
# allowed and denied probes (TCP and UDP, 127.0.0.1 allowed, 127.0.0.2 denied in both) run
# without pause in the workload, with zero wrong verdicts and the generation counting every
# swap. A moment with no policy, or half of one, would deny an allowed probe. The UDP probes
# also run on one socket kept for the whole soak (its remembered verdict goes stale at every
# swap).
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"
SWAPS=${EXAI_EGRESS_SOAK_SWAPS:-1000}

start_servers
mkpolicy() { # mkpolicy DIR ADDR...
	mkdir -p "$1"
	f=$1/policy.yaml
	shift
	printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n' "$CG" >"$f"
	for a in "$@"; do printf '      - {cidr: %s, protocol: any}\n' "$a" >>"$f"; done
}
mkpolicy "$T/a" 127.0.0.1/32
mkpolicy "$T/b" 127.0.0.1/32 127.0.0.3/32 10.0.0.0/8 "fd00::/8"

expect_rc 1 exai-egress reload --policy-dir "$T/a" --unsigned
expect_contains "$T/err" "reload swaps a running policy (use apply first)"
expect_rc 0 exai-egress apply --policy "$T/a/policy.yaml" --unsigned
ok "reload refuses when nothing is applied"

mk_keys
mk_root 2 root.yaml r1 r2
minisign -S -s "$T/keys/r1.key" -m "$T/b/policy.yaml" -x "$T/b/r1.minisig" </dev/null >/dev/null 2>&1
expect_rc 1 exai-egress reload --policy-dir "$T/b" --root "$T/keys/root.yaml"
expect_contains "$T/err" "signed by 1 distinct release key of trust root v1, 2 needed"
expect_rc 0 exai-egress status --json
jq -e '.generation == 1' "$T/out" >/dev/null || fail "generation after refused reload: $(cat "$T/out")"
minisign -S -s "$T/keys/r2.key" -m "$T/b/policy.yaml" -x "$T/b/r2.minisig" </dev/null >/dev/null 2>&1
expect_rc 0 exai-egress reload --policy-dir "$T/b" --root "$T/keys/root.yaml"
expect_contains "$T/out" "generation 2"
ok "reload of a signed policy directory: one key short refused, both keys swapped in"

mkdir "$T/soak"
$PY "$EXAI_SRC/tests/egress/soak.py" "$CG" "$T/soak" "$TCP4" "$TCP4B" "$UDP4" &
soak=$!
i=0
while [ ! -e "$T/soak/running" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "soak prober did not start"
	sleep 0.1
done
n=0
while [ $n -lt "$SWAPS" ]; do
	d=a
	[ $((n % 2)) = 0 ] || d=b
	exai-egress reload --policy-dir "$T/$d" --unsigned >/dev/null || fail "reload $n failed"
	n=$((n + 1))
done
touch "$T/soak/stop"
wait "$soak" || fail "soak prober failed"
read -r rounds wrong first <"$T/soak/result"
echo "soak: $SWAPS swaps, $rounds $wrong $first"
[ "$wrong" = wrong=0 ] || fail "wrong verdicts during $SWAPS swaps: $rounds $wrong $first"
[ "${rounds#rounds=}" -ge 10 ] || fail "too few probe rounds: $rounds"
expect_rc 0 exai-egress status --json
jq -e --argjson g $((SWAPS + 2)) '.generation == $g and .attached' "$T/out" >/dev/null ||
	fail "generation after the soak: $(cat "$T/out")"
ok "$SWAPS swaps under probes: zero wrong verdicts, generation $((SWAPS + 2))"
