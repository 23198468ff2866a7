#!/bin/sh
# End to end: exai-update applies a bundle whose policy component carries a newly signed
# egress policy, and its policy_reload hook, [exai-egress reload --socket CTL --policy-dir
# .../current], runs in the hook sandbox (its own network namespace, no capabilities, uid
# nobody, bpf() refused) and asks exai-egress serve, which checks the policy against the
# trust root and swaps it in: status shows the new generation and a probe's verdict changes.
# A bundle whose policy is signed by a key outside the trust root goes through the same path:
# the daemon refuses it, the hook fails, exai-update switches back and reloads the old policy,
# and the old policy's verdicts stay.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"
MIRROR_PID=""
. "$EXAI_SRC/tests/cli/egress_serve_lib.sh"

setup_keys
start_servers
# srcpol NAME SEQ KEY ADDR...: $T/src/NAME/policy.yaml (any protocol to each ADDR/32) and its
# signature by KEY (a release key of root.v1: rel1, rel2; rel3 is not in it)
srcpol() {
	d="$T/src/$1" seq=$2 key=$3
	shift 3
	mkdir -p "$d"
	printf 'version: 1\ndefault: deny\nsequence: %s\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n' "$seq" "$CG" >"$d/policy.yaml"
	for a in "$@"; do printf '      - {cidr: %s/32, protocol: any}\n' "$a" >>"$d/policy.yaml"; done
	minisign -S -s "$T/$key.key" -m "$d/policy.yaml" -x "$d/$key.minisig" </dev/null >/dev/null 2>&1 ||
		fail "minisign $d with $key"
}
gen_is() {
	exai-egress status --json >"$T/st" || true
	jq -e --argjson g "$1" '.generation == $g and .attached' "$T/st" >/dev/null ||
		fail "status: want generation $1: $(cat "$T/st")"
}

srcpol p0 1 rel1 127.0.0.1
expect_rc 0 exai-egress apply --policy "$T/src/p0/policy.yaml" --root "$T/root.v1" --sig "$T/src/p0/rel1.minisig"
serve_config "trust_root: $T/root.v1"
sed -i "s|^policy_dirs: .*|policy_dirs: [$T/inst/policy]|; s|^control: .*|control: {socket: $CTL, mode: \"0666\", allow_uids: [0, 65534]}|" "$CONF"
chmod 711 "$T" # the hook runs as nobody: it reaches the socket and the installed policy
journal_start
serve_start
write_config "hooks: {policy_reload: [$EXAI_BUILD/bpf/exai-egress, reload, --socket, $CTL, --policy-dir, $T/inst/policy/egress/current], health_check: [/bin/true], env: {ASAN_OPTIONS: detect_leaks=0}}"
# (LeakSanitizer cannot run in the hook sandbox, which refuses ptrace: off there in ASan runs)
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
gen_is 1

srcpol p1 2 rel1 127.0.0.1 127.0.0.2
bundle_of "$T/b1.exb" 1 "{type: policy, name: egress, version: '1', source: ./src/p1}"
expect_rc 0 U apply "$T/b1.exb"
expect_contains "$T/err" "exai-update apply: policy reload: $EXAI_BUILD/bpf/exai-egress"
gen_is 2
jq -e --arg p "$(readlink -f "$T/inst/policy/egress/current")/policy.yaml" '.policy == $p and .sequence == 2' "$T/st" >/dev/null ||
	fail "status does not name the installed policy: $(cat "$T/st")"
expect_probe ok tcp 127.0.0.2 "$TCP4B"
wait_for "the hook's reload event" grep -q "reload ok by uid=65534 pid=[0-9]*: policy $T/inst/policy/egress/[ab]/policy.yaml in force: generation 2" "$T/journal"
ok "exai-update apply: the policy_reload hook (uid nobody, sandboxed) asks serve; generation 2 is live, 127.0.0.2 now allowed"

srcpol p2 3 rel3 127.0.0.1 127.0.0.2 127.0.0.3
CREATED=$((NOW + 10)) bundle_of "$T/b2.exb" 2 "{type: policy, name: egress, version: '2', source: ./src/p2}"
expect_rc 3 U apply "$T/b2.exb"
expect_contains "$T/err" "policy reload"
expect_contains "$T/err" "is not a release key of the trust root"
# exai-update switched back and ran the hook again with the old policy: the same policy again
gen_is 3
jq -e '.sequence == 2' "$T/st" >/dev/null || fail "the refused policy moved the ratchet: $(cat "$T/st")"
expect_probe errno=EPERM tcp 127.0.0.3 "$TCP4B"
expect_probe ok tcp 127.0.0.2 "$TCP4B"
expect_rc 0 U --json status
jq -e '[.components[] | select(.type == "policy" and .name == "egress")][0].current.version == "1"' "$T/out" >/dev/null ||
	fail "exai-update status after the refusal: $(cat "$T/out")"
grep -q "reload refused by uid=65534 pid=[0-9]*: .*is not a release key of the trust root" "$T/journal" ||
	fail "no refused reload event: $(cat "$T/journal")"
ok "a policy signed by a key outside the trust root: refused through the same path, exai-update reverts, the old policy stays"
serve_stop
