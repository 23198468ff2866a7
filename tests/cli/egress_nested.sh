#!/bin/sh
# Nested workloads: a socket belongs to the DEEPEST cgroup above its creator that the policy
# names a workload (bpf/egress.bpf.c: current_workload and skb_workload search from the
# deepest level up and stop at the first workload). Outer workload $CG allows 127.0.0.1,
# inner workload $CG/inner allows 127.0.0.2 only; $CG/inner/deep is no workload and gets
# inner's rules. A search that stopped at the shallowest workload would let the inner probe
# reach 127.0.0.1 and deny it 127.0.0.2.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

start_servers
INNER="$CG/inner"
DEEP="$INNER/deep"
mkdir "$INNER" "$DEEP"
EXTRA_CGROUPS="$DEEP $INNER"
cat >"$T/policy.yaml" <<EOP
version: 1
default: deny
workloads:
  - name: outer
    cgroup: $CG
    rules:
      - {cidr: 127.0.0.1/32, protocol: tcp}
  - name: inner
    cgroup: $INNER
    rules:
      - {cidr: 127.0.0.2/32, protocol: tcp}
EOP
expect_rc 0 exai-egress apply --policy "$T/policy.yaml" --unsigned
ok "apply with nested workloads"

# in CGROUP: probe.py in CGROUP, then the verdict line must be WANT
in_cg() { # in_cg CGROUP WANT KIND ADDR PORT
	cg=$1
	want=$2
	shift 2
	$PY "$EXAI_SRC/tests/egress/probe.py" --cgroup "$cg" "$@" >"$T/probe" 2>&1 ||
		fail "probe in $cg $*: $(cat "$T/probe")"
	got=$(sed -n '2p' "$T/probe")
	[ "$got" = "$want" ] || fail "probe in $cg $*: $got (want $want)"
}

in_cg "$CG" ok tcp 127.0.0.1 "$TCP4"
in_cg "$CG" errno=EPERM tcp 127.0.0.2 "$TCP4B"
ok "outer workload: its own rules"
in_cg "$INNER" ok tcp 127.0.0.2 "$TCP4B"
in_cg "$INNER" errno=EPERM tcp 127.0.0.1 "$TCP4"
ok "inner workload: its own rules, not outer's"
in_cg "$DEEP" ok tcp 127.0.0.2 "$TCP4B"
in_cg "$DEEP" errno=EPERM tcp 127.0.0.1 "$TCP4"
ok "a cgroup below inner: inner's rules (the deepest workload above it)"

exai-egress events --json >"$T/ev" || fail "events: exit $?"
jq -s -e 'any(.[]; .daddr == "127.0.0.1" and .workload == "inner" and .verdict == "deny")' \
	"$T/ev" >/dev/null || { cat "$T/ev" >&2; fail "no deny event of workload inner for 127.0.0.1"; }
jq -s -e 'any(.[]; .daddr == "127.0.0.2" and .workload == "outer" and .verdict == "deny")' \
	"$T/ev" >/dev/null || { cat "$T/ev" >&2; fail "no deny event of workload outer for 127.0.0.2"; }
ok "deny events name the deepest workload"
