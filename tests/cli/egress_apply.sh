#!/bin/sh
# exai-egress apply, status and detach around a running policy: a bad policy is refused with
# file:line:column and the old one stays in force; apply again adopts the pins (generation 2)
# and a workload dropped from the policy is detached; audit mode lets everything through with
# the same events (verdict audit); enforcement outlives a kill -9 of a reader; a link someone
# detaches is reported by status (exit 1) and re-attached by the next apply; an incomplete
# set of pins is refused; detach removes everything.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

start_servers
CG2="$CG-b"
EXTRA_CGROUPS=$CG2
mkdir "$CG2"
policy() { # policy FILE MODE [second workload]
	{
		printf 'version: 1\ndefault: deny\nmode: %s\nworkloads:\n' "$2"
		printf '  - name: probes\n    cgroup: %s\n    rules:\n' "$CG"
		printf '      - {cidr: 127.0.0.1/32, protocol: tcp}\n'
		[ -z "${3:-}" ] || printf '  - name: other\n    cgroup: %s\n' "$CG2"
	} >"$1"
}
policy "$T/p1.yaml" enforce two
expect_rc 0 exai-egress apply --policy "$T/p1.yaml" --unsigned
expect_contains "$T/out" "generation 1, mode enforce, 2 workloads"
expect_rc 0 exai-egress status
expect_contains "$T/out" "bpf lsm: "
expect_contains "$T/out" "AF_PACKET is refused only under 'exai-egress run'"
expect_rc 0 exai-egress status --json
jq -e '(.bpf_lsm | type) == "string" and (.bpf_lsm | length) > 0' "$T/out" >/dev/null || fail "status bpf_lsm: $(cat "$T/out")"
ok "apply generation 1; status says whether BPF LSM is available"

# refused policies, each with its position; the running policy stays
printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n      - {cidr: 127.0.0.1/24, protocol: tcp}\n' "$CG" >"$T/bad1.yaml"
expect_rc 1 exai-egress apply --policy "$T/bad1.yaml" --unsigned
expect_contains "$T/err" "bad1.yaml:7:16: cidr '127.0.0.1/24': host bits are set"
printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n      - {cidr: 127.0.0.2/32, protocol: tcp, ports: 0-80}\n' "$CG" >"$T/bad2.yaml"
expect_rc 1 exai-egress apply --policy "$T/bad2.yaml" --unsigned
expect_contains "$T/err" "bad2.yaml:7:52: port '0-80' is out of range"
printf 'version: 1\ndefault: allow\nworkloads: []\n' >"$T/bad3.yaml"
expect_rc 1 exai-egress apply --policy "$T/bad3.yaml" --unsigned
expect_contains "$T/err" "bad3.yaml:2:10: default 'allow': the only default is deny"
printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: %s/no-such-cgroup\n' "$CG" >"$T/bad4.yaml"
expect_rc 1 exai-egress apply --policy "$T/bad4.yaml" --unsigned
expect_contains "$T/err" "bad4.yaml:5:13: cgroup $CG/no-such-cgroup"
printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: /tmp\n' >"$T/bad5.yaml"
expect_rc 1 exai-egress apply --policy "$T/bad5.yaml" --unsigned
expect_contains "$T/err" "is not under the cgroup2 mount"
expect_rc 1 exai-egress apply --policy "$T/p1.yaml"
expect_contains "$T/err" "--unsigned"
expect_rc 0 exai-egress status --json
jq -e '.generation == 1 and .attached' "$T/out" >/dev/null || fail "status after refusals: $(cat "$T/out")"
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_event '.generation == 1 and .verdict == "deny"'
ok "bad policies refused at file:line:column; generation 1 still enforced"

# apply again: the pins are adopted, generation 2; the workload dropped is detached
policy "$T/p2.yaml" enforce
expect_rc 0 exai-egress apply --policy "$T/p2.yaml" --unsigned
expect_contains "$T/out" "generation 2, mode enforce, 1 workload"
expect_rc 0 exai-egress status --json
jq -e '.generation == 2 and (.workloads | length) == 1 and .workloads[0].name == "probes"' "$T/out" >/dev/null ||
	fail "status after re-apply: $(cat "$T/out")"
cg2id=$(stat -c %i "$CG2")
[ -z "$(ls "$PIN/links" | grep "^$cg2id-" || true)" ] || fail "links of the dropped workload remain"
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_event '.generation == 2 and .hook == "connect4"'
ok "re-apply adopts the pins: generation 2, the dropped workload detached"

# audit mode: nothing blocked, the same event with verdict audit
expect_rc 0 exai-egress apply --policy "$T/p2.yaml" --unsigned --mode audit
expect_probe ok tcp 127.0.0.2 "$TCP4B"
expect_event '.verdict == "audit" and .generation == 3 and .hook == "connect4" and .daddr == "127.0.0.2"'
expect_probe ok raw x 0
expect_event '.verdict == "audit" and .hook == "sock_create" and .reason == "raw-socket"'
expect_rc 0 exai-egress status --json
jq -e '.mode == "audit" and .counters.audited == 2' "$T/out" >/dev/null || fail "audit status: $(cat "$T/out")"
ok "audit mode: allowed, same events with verdict audit"

# enforcement does not depend on any exai-egress process: a reader killed with -9
expect_rc 0 exai-egress apply --policy "$T/p2.yaml" --unsigned --mode enforce
exai-egress events --follow >"$T/follow" 2>&1 &
reader=$!
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
i=0
until grep -q "deny connect4 tcp 127.0.0.2:$TCP4B pid=$PROBE_PID comm=python3" "$T/follow"; do
	i=$((i + 1))
	[ $i -lt 200 ] || { cat "$T/follow" >&2; fail "events --follow did not show the denial"; }
	sleep 0.05
done
kill -9 "$reader"
wait "$reader" 2>/dev/null || true
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_event '.generation == 4'
ok "events --follow shows denials; enforcement stays after kill -9"

# someone detaches a link: status says so and fails; apply attaches it again
cgid=$(stat -c %i "$CG")
linkid=$(bpftool link show pinned "$PIN/links/$cgid-connect4" -j | jq .id)
bpftool link detach id "$linkid"
expect_probe ok tcp 127.0.0.2 "$TCP4B"
expect_rc 1 exai-egress status
expect_contains "$T/out" "ENFORCEMENT INCOMPLETE"
expect_contains "$T/out" "connect4     DETACHED"
expect_rc 0 exai-egress apply --policy "$T/p2.yaml" --unsigned
expect_rc 0 exai-egress status
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_event '.generation == 5'
ok "a detached link is reported by status (exit 1) and re-attached by apply"

# a set pinned by an older exai-egress (here: without the verdict cache's map): apply and
# status refuse it naming detach, and enforcement stays as it was
mv "$PIN/map_verdicts" "$PIN/map_verdicts_old" # bpffs names may hold no '.'
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --unsigned
expect_contains "$T/err" "holds no pinned map verdicts: pinned by another version of exai-egress: run 'exai-egress detach' first"
expect_rc 1 exai-egress status
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
mv "$PIN/map_verdicts_old" "$PIN/map_verdicts"
expect_rc 0 exai-egress status
ok "pins of another version (a map missing) are refused by apply and status, naming detach"

# an incomplete set of pins (map_policy removed by hand): apply refuses to load beside the
# links still running, status fails, detach still removes everything
rm "$PIN/map_policy"
expect_rc 1 exai-egress apply --policy "$T/p2.yaml" --unsigned
expect_contains "$T/err" "holds links but no complete set of pins (map_policy missing)"
expect_rc 1 exai-egress status
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
ok "an incomplete pin set is refused by apply, not silently reloaded beside running links"

# detach: links and pins gone, egress unfiltered, status exits 1
expect_rc 0 exai-egress detach
[ ! -e "$PIN" ] || fail "$PIN remains after detach"
expect_probe ok tcp 127.0.0.2 "$TCP4B"
expect_rc 1 exai-egress status
ok "detach removes links and pins"
