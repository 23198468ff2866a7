# Helpers for the `airgap-verifier run` CLI tests (sourced after tests/cli/lib.sh).
#
# Safety rule: every run of the verifier goes through in_netns, so the whole verifier sits in
# an outer network namespace of the test's own that holds only loopback. Even a bug in the
# verifier's isolation can then send no lookup and no packet anywhere.
. "$EXAI_SRC/tests/cli/lib.sh"
PHONE="$EXAI_BUILD/tests/vf_run_phone_home"
TMPDIR="$T"
export TMPDIR

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "skip: airgap-verifier run needs root (namespaces, TUN device)"
		exit 0
	fi
	command -v jq >/dev/null || fail "jq is needed (scripts/deps.sh installs it)"
	[ -x "$PHONE" ] || fail "$PHONE not built"
}

# in_netns CMD...: CMD in a fresh outer network namespace with only loopback up.
in_netns() {
	unshare -n sh -c 'ip link set lo up && exec "$@"' in_netns "$@"
}

# jq_true FILE FILTER...: the jq filter yields true on FILE.
jq_true() {
	f=$1
	shift
	jq -e "$@" "$f" >/dev/null || { echo "--- $f:" >&2; cat "$f" >&2; fail "jq $*"; }
}

# attempt FILE WHERE EVIDENCE-PREFIX [suppressed]: an egress finding at WHERE.
attempt() {
	jq_true "$1" --arg p "$2" --arg ev "$3" --argjson s "${4:-false}" \
		'any(.findings[]; .rule_id == "run.egress.attempt" and .path == $p and
		     (.evidence | startswith($ev)) and .suppressed == $s)'
}

# lookup FILE NAME QTYPE VIA: a lookup finding.
lookup() {
	jq_true "$1" --arg n "$2" --arg ev "qname=$2 qtype=$3 via=$4 " \
		'any(.findings[]; .rule_id == "run.dns.lookup" and .path == $n and
		     (.evidence | startswith($ev)) and .suppressed == false)'
}

# count FILE RULE N: exactly N findings of RULE.
count() {
	jq_true "$1" --arg r "$2" --argjson n "$3" '[.findings[] | select(.rule_id == $r)] | length == $n'
}

# note FILE TEXT: a note containing TEXT.
note() {
	jq_true "$1" --arg t "$2" 'any(.notes[]; contains($t))'
}

# no_process ERE: no process's command line matches ERE. Write one character of it in
# brackets ('98765[4]') so the grep's own command line does not match.
no_process() {
	if grep -lsaE -- "$1" /proc/[0-9]*/cmdline; then
		fail "a process matching '$1' is still running"
	fi
}
