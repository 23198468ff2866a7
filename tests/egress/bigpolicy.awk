# bigpolicy.awk: a large exai-egress policy, for tests/cli/egress_large.sh and bench/egress.sh.
#
#   awk -v n=N -v cg=CGROUP [-v variant=V] [-v list=1] -f bigpolicy.awk
#
# Prints a policy of one workload "big" (cgroup CGROUP) with N rules of protocol any, no two
# of which overlap (so that the same CIDRs also form an nftables interval set):
#   90%  IPv4 /32 hosts on the EVEN addresses from 127.1.0.0 on (127.1.0.0, 127.1.0.2, ...,
#        127.1.0.254, 127.1.1.0, ...); the odd address next to each is in no rule
#   5%   IPv4 /24 blocks from 127.64.0.0/24 on (variant V moves them V * 10,000 blocks up)
#   5%   IPv6 /64 prefixes fd00:0:0:1::/64 on
# The policy ends with its last rule, so a test can append rules of its own. With list=1 it
# prints the CIDRs alone, one a line, instead of the policy.
BEGIN {
	if (n == "" || cg == "") {
		print "bigpolicy.awk: -v n=N -v cg=CGROUP needed" > "/dev/stderr"
		exit 2
	}
	hosts = int(n * 0.9)
	blocks = int(n * 0.05)
	nets = n - hosts - blocks
	if (!list)
		printf "version: 1\ndefault: deny\nworkloads:\n  - name: big\n    cgroup: %s\n    rules:\n", cg
	for (k = 0; k < hosts; k++)
		rule(sprintf("127.%d.%d.%d/32", 1 + int(k / 32768), int(k / 128) % 256, (k % 128) * 2))
	for (j = 0; j < blocks; j++) {
		b = j + variant * 10000
		rule(sprintf("127.%d.%d.0/24", 64 + int(b / 256), b % 256))
	}
	for (j = 1; j <= nets; j++)
		rule(sprintf("fd00:0:%x:%x::/64", int(j / 65536), j % 65536))
}

function rule(cidr) {
	if (list)
		print cidr
	else
		printf "      - {cidr: \"%s\", protocol: any}\n", cidr
}
