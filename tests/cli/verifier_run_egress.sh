# airgap-verifier run with exai-egress (attribution): a command whose two children try
# 192.0.2.1:443 over TCP and 203.0.113.9:53 over UDP (and a broadcast the kernel refuses
# before any packet) gets each attempt named with the child's pid (as the command saw it,
# compared with the pids the children wrote to a file) and command name, in JSON, SARIF,
# text and JUnit; --no-egress names nobody and says so; an explicit --egress that cannot be
# used (missing, or its programs cannot attach) refuses to run, while the automatic choice
# carries on without and says why. Every run sits in an outer network namespace (in_netns);
# nothing of a run (cgroup, bpffs, pins, temp files, event reader) stays behind.
. "$EXAI_SRC/tests/cli/verifier_run_lib.sh"
need_root
EGRESS="$EXAI_BUILD/bpf/exai-egress"
if [ ! -x "$EGRESS" ]; then
	echo "skip: exai-egress is not built (bpftool, clang, libbpf or BTF missing)"
	exit 77
fi
PY=/usr/bin/python3
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
OWN=$(sed -n 's/^0:://p' /proc/self/cgroup)
CGDIR="$CGROOT${OWN%/}"
H=$(mktemp -d /var/tmp/exai-vre.XXXXXX)
cleanup() {
	for c in "$CGDIR"/airgap-verifier-run-*; do
		[ -d "$c" ] && rmdir "$c" 2>/dev/null || true
	done
	rm -rf "$T" "$H"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
chmod 777 "$H" # the children (nobody) write ./pids

# The command: two children, each writing "KIND PID" to ./pids, then trying its
# destination, then living on a little (so that it is named while it exists).
cat >"$H/tcp_child" <<EOF
#!$PY
import os, socket, time
with open("pids", "a") as f:
    f.write("tcp %d\n" % os.getpid())
s = socket.socket()
s.settimeout(0.3)
try:
    s.connect(("192.0.2.1", 443))
except OSError:
    pass
time.sleep(1.5)
EOF
cat >"$H/udp_child" <<EOF
#!$PY
import os, socket, time
with open("pids", "a") as f:
    f.write("udp %d\n" % os.getpid())
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", ("203.0.113.9", 53))
try:
    s.sendto(b"x", ("255.255.255.255", 9))  # no SO_BROADCAST: EACCES, no packet
    print("broadcast sent?")
except PermissionError:
    pass
time.sleep(1.5)
EOF
cat >"$H/kids" <<'EOF'
#!/bin/sh
./tcp_child &
./udp_child &
wait
EOF
chmod 755 "$H/tcp_child" "$H/udp_child" "$H/kids"

# vrun RC ARGS...: one run of ./kids in $H (pids reset) that must exit RC
vrun() {
	want=$1
	shift
	rm -f "$H/pids"
	(cd "$H" && expect_rc "$want" in_netns airgap-verifier run --writable-cwd "$@" -- ./kids)
	TCP_PID=$(sed -n 's/^tcp //p' "$H/pids" 2>/dev/null || true)
	UDP_PID=$(sed -n 's/^udp //p' "$H/pids" 2>/dev/null || true)
}
# nothing_left: no cgroup, temp dir, pin or event reader of a finished run remains. Other
# runs may be going on at the same moment (another test, another checkout's CI on the same
# host): a run's cgroup is named after the verifier's pid, so only a cgroup whose verifier has
# exited counts as left behind, and only an event reader whose verifier has exited (it is
# then re-parented) counts as still running.
nothing_left() {
	for d in "$CGDIR"/airgap-verifier-run-*; do
		[ -d "$d" ] || continue
		kill -0 "${d##*-}" 2>/dev/null || fail "a run's cgroup is left: $d"
	done
	[ -z "$(ls -d "$T"/airgap-run-egress.* 2>/dev/null)" ] || fail "a run's temp dir is left"
	[ ! -e /sys/fs/bpf/airgap-verifier-run ] || fail "a run's pins are in the host's /sys/fs/bpf"
	for c in $(grep -lsaE -- 'exai-egress events --follo[w]' /proc/[0-9]*/cmdline); do
		p=${c%/cmdline}
		pp=$(sed -n 's/^PPid:[[:space:]]*//p' "$p/status" 2>/dev/null) || continue
		[ -n "$pp" ] || continue
		case $(cat "/proc/$pp/comm" 2>/dev/null) in
		airgap-verifie*) ;; # a run in progress
		*) fail "an event reader outlived its run: ${p#/proc/} (parent $pp)" ;;
		esac
	done
}
# procs FILE PATH KIND PID: the finding at PATH names exactly the process PID with comm KIND
procs() {
	jq_true "$1" --arg p "$2" --arg c "$3" --argjson pid "$4" \
		'[.findings[] | select(.path == $p)] | length == 1 and
		 (.[0].processes | length == 1 and .[0].pid == $pid and .[0].comm == $c and
		  (.[0].host_pid | type) == "number" and .[0].host_pid > 0)'
}

# A cgroup a killed run left (its verifier pid gone, empty) is removed by the next run; one of
# a live pid (a run in progress) is not.
dead=$(sh -c 'echo $$')
while kill -0 "$dead" 2>/dev/null; do dead=$(sh -c 'echo $$'); done
mkdir "$CGDIR/airgap-verifier-run-$dead" "$CGDIR/airgap-verifier-run-$$"
# 1. Attribution on (found on PATH): each attempt names its child.
vrun 1 --format json --output "$T/r.json"
[ ! -e "$CGDIR/airgap-verifier-run-$dead" ] || fail "a killed run's empty cgroup (pid $dead) was not removed"
[ -d "$CGDIR/airgap-verifier-run-$$" ] || fail "the cgroup named after a live pid ($$) was removed"
rmdir "$CGDIR/airgap-verifier-run-$$"
ok "a killed run's empty cgroup is removed by the next run; one named after a live pid is kept"
[ -n "$TCP_PID" ] && [ -n "$UDP_PID" ] && [ "$TCP_PID" != "$UDP_PID" ] || fail "pids file: $(cat "$H/pids")"
note "$T/r.json" "exai-egress: attribution on: $EGRESS in audit mode"
procs "$T/r.json" "192.0.2.1:443" tcp_child "$TCP_PID"
procs "$T/r.json" "203.0.113.9:53" udp_child "$UDP_PID"
attempt "$T/r.json" "192.0.2.1:443" "proto=tcp dst=192.0.2.1 port=443 packets="
attempt "$T/r.json" "203.0.113.9:53" "proto=udp dst=203.0.113.9 port=53 packets=1"
ok "json: the TCP attempt names tcp_child (pid $TCP_PID), the UDP one udp_child (pid $UDP_PID)"
# the broadcast never became a packet: only exai-egress saw it, and it is still reported
attempt "$T/r.json" "255.255.255.255:9" "proto=udp dst=255.255.255.255 port=9 packets=0 seen_by=exai-egress hook=sendmsg4"
procs "$T/r.json" "255.255.255.255:9" udp_child "$UDP_PID"
count "$T/r.json" run.egress.attempt 3
jq_true "$T/r.json" '.summary.findings == 3'
ok "json: an attempt the kernel refused before any packet (a broadcast) is reported, with its pid"
nothing_left
ok "nothing of the run is left (cgroup, temp dir, pins, event reader)"

vrun 1 --format sarif --output "$T/r.sarif"
jq_true "$T/r.sarif" --argjson t "$TCP_PID" --argjson u "$UDP_PID" \
	'[.runs[0].results[] | {(.properties.endpoint): .properties.processes}] | add |
	 .["192.0.2.1:443"][0].pid == $t and .["192.0.2.1:443"][0].comm == "tcp_child" and
	 .["203.0.113.9:53"][0].pid == $u and .["203.0.113.9:53"][0].comm == "udp_child" and
	 .["255.255.255.255:9"][0].pid == $u'
ok "sarif: properties.processes of each result name the child"

vrun 1 --output "$T/r.txt"
expect_contains "$T/r.txt" "processes: pid $TCP_PID (host "
expect_contains "$T/r.txt" ") tcp_child"
expect_contains "$T/r.txt" "processes: pid $UDP_PID (host "
vrun 1 --format junit --output "$T/r.xml"
expect_contains "$T/r.xml" "processes: pid $TCP_PID (host "
expect_contains "$T/r.xml" "processes: pid $UDP_PID (host "
ok "text and junit name the processes"

# 2. --egress PATH (explicit) works the same.
vrun 1 --egress "$EGRESS" --format json --output "$T/r2.json"
procs "$T/r2.json" "192.0.2.1:443" tcp_child "$TCP_PID"
ok "--egress PATH: attribution on"

# 3. --no-egress: nobody named, and the report says attribution is off.
vrun 1 --no-egress --format json --output "$T/r3.json"
note "$T/r3.json" "exai-egress: attribution off (--no-egress)"
jq_true "$T/r3.json" 'all(.findings[]; has("processes") | not)'
count "$T/r3.json" run.egress.attempt 2
vrun 1 --no-egress --format sarif --output "$T/r3.sarif"
jq_true "$T/r3.sarif" 'all(.runs[0].results[]; .properties | has("processes") | not)'
nothing_left
ok "--no-egress: no processes in json or sarif, the note says attribution is off"

# 4. An explicit --egress that cannot be used refuses the run; the command never starts.
vrun 2 --egress "$H/no-such-exai-egress" --format json --output "$T/r4.json"
expect_contains "$T/err" "attribution requested but not available"
expect_contains "$T/err" "no-such-exai-egress"
[ ! -e "$H/pids" ] && [ ! -e "$T/r4.json" ] || fail "the command ran or a report was written"
# one whose programs cannot attach (as without BPF, or not root enough)
mkdir "$H/fake"
printf '#!/bin/sh\necho "exai-egress: load the egress programs: Operation not permitted" >&2\nexit 1\n' >"$H/fake/exai-egress"
chmod 755 "$H/fake" "$H/fake/exai-egress"
vrun 2 --egress "$H/fake/exai-egress" --format json --output "$T/r5.json"
expect_contains "$T/err" "attribution requested but not available"
expect_contains "$T/err" "Operation not permitted"
[ ! -e "$H/pids" ] || fail "the command ran although attribution was required"
nothing_left
ok "--egress: a missing exai-egress, or one that cannot attach, refuses the run (exit 2)"

# 5. Found automatically but unusable, or not found: the run goes on, unattributed, and
# says why.
(PATH="$H/fake:$PATH" && vrun 1 --format json --output "$T/r6.json")
note "$T/r6.json" "exai-egress: attribution off: $H/fake/exai-egress: exai-egress apply: exai-egress: load the egress programs: Operation not permitted"
jq_true "$T/r6.json" 'all(.findings[]; has("processes") | not)'
count "$T/r6.json" run.egress.attempt 2
V=$(command -v airgap-verifier)
rm -f "$H/pids"
(cd "$H" && PATH=/usr/sbin:/usr/bin:/sbin:/bin &&
	expect_rc 1 in_netns "$V" run --writable-cwd --format json --output "$T/r7.json" -- ./kids)
if jq -e 'any(.notes[]; contains("exai-egress: attribution on"))' "$T/r7.json" >/dev/null; then
	ok "# SKIP an installed exai-egress was found, so 'not found' cannot be shown"
else
	note "$T/r7.json" "exai-egress: attribution off: exai-egress not found (not on PATH, not "
	jq_true "$T/r7.json" 'all(.findings[]; has("processes") | not)'
fi
nothing_left
ok "automatic: an exai-egress that cannot attach, or none, leaves the run unattributed, and the report says why"
echo "1..$tests_run"
