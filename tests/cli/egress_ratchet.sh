#!/bin/sh
# The sequence ratchet of signed egress policies outlives what the pinned state map does not:
# a detach, and pins removed by hand (as a reboot removes bpffs). It lives in the ratchet
# record that 'exai-egress init' creates ($STATE/ratchet) and fails closed: a missing, empty,
# truncated or corrupted record refuses every signed apply (exit 2, naming the file and
# init), leaving the record and the pins untouched; init refuses to replace a record; a
# re-init after a loss starts at the pinned sequence when pins survive; a record below the
# pinned state (a restored backup) does not lower the ratchet and is raised; the record is
# written before the swap (a crash between the two leaves it ahead); --unsigned neither reads
# nor moves it; status shows it.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

mk_keys
mk_root 2 root.yaml r1 r2
ROOT="$T/keys/root.yaml"
REC="$STATE/ratchet"
start_servers
# mkpolicy FILE SEQ ADDR...: a policy (tcp to each ADDR/32) with sequence SEQ, signed by r1, r2
mkpolicy() {
	f=$1 seq=$2
	shift 2
	printf 'version: 1\ndefault: deny\nsequence: %s\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n' "$seq" "$CG" >"$f"
	for a in "$@"; do printf '      - {cidr: %s/32, protocol: tcp}\n' "$a" >>"$f"; done
	for k in r1 r2; do
		minisign -S -s "$T/keys/$k.key" -m "$f" -x "$f.$k.minisig" </dev/null >/dev/null 2>&1 || fail "minisign $f $k"
	done
}
apply2() { exai-egress apply --policy "$1" --root "$ROOT" --sig "$1.r1.minisig" --sig "$1.r2.minisig"; }
rec_seq() { sed -n 's/^sequence \([0-9]*\)$/\1/p' "$REC"; }
rec_is() { [ "$(rec_seq)" = "$1" ] || fail "ratchet record: want sequence $1: $(cat "$REC")"; }
gone() { exai-egress detach >/dev/null 2>&1 || true; [ ! -e "$PIN" ] || fail "pins left after detach"; }

mkpolicy "$T/p5.yaml" 5 127.0.0.1
mkpolicy "$T/p4.yaml" 4 127.0.0.1 127.0.0.2
mkpolicy "$T/p6.yaml" 6 127.0.0.1
[ "$(stat -c %a "$STATE")" = 700 ] || fail "state dir mode $(stat -c %a "$STATE")"
[ "$(stat -c %a "$REC")" = 600 ] || fail "record mode $(stat -c %a "$REC")"
rec_is 0
cp "$REC" "$T/rec0" # a backup taken at provisioning
expect_rc 0 apply2 "$T/p5.yaml"
rec_is 5
grep -qx "policy-sha256 $(sha256sum "$T/p5.yaml" | cut -d' ' -f1)" "$REC" || fail "record does not name p5: $(cat "$REC")"
expect_rc 0 exai-egress status --json
jq -e --arg p "$REC" '.ratchet.path == $p and .ratchet.usable and .ratchet.sequence == 5 and .sequence == 5' "$T/out" >/dev/null ||
	fail "status: $(cat "$T/out")"
expect_rc 0 exai-egress status
expect_contains "$T/out" "ratchet record: $REC: sequence 5"
ok "init made $REC (0700/0600, sequence 0); a signed apply of sequence 5 raised it and status shows it"

gone
expect_rc 1 apply2 "$T/p4.yaml"
expect_contains "$T/err" "sequence 4 is older than sequence 5 in force (the ratchet record $REC): a replay?"
[ ! -e "$PIN" ] || fail "a refused apply loaded and pinned the programs"
expect_probe ok tcp 127.0.0.2 "$TCP4B" # nothing attached: the refusal did not half-apply
expect_rc 0 apply2 "$T/p5.yaml"
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_event '.generation == 1 and .daddr == "127.0.0.2"'
ok "after detach: the older signed policy (sequence 4) is refused, sequence 5 again accepted"

# as a reboot: bpffs is empty afterwards (the links go with their pins)
rm -rf "$PIN"
expect_rc 1 apply2 "$T/p4.yaml"
expect_contains "$T/err" "sequence 4 is older than sequence 5 in force"
expect_rc 0 apply2 "$T/p5.yaml"
ok "pins removed by hand (a reboot): sequence 4 still refused, 5 accepted"

# an equal sequence is a re-apply of the same bytes only: another policy signed with the
# number in force (two drafts both signed as 5) is refused, the record and the pins unchanged
mkpolicy "$T/p5b.yaml" 5 127.0.0.1 127.0.0.2
gen=$(exai-egress status --json | jq .generation)
cp "$REC" "$T/before"
expect_rc 1 apply2 "$T/p5b.yaml"
expect_contains "$T/err" "sequence 5 is in force with different content (the ratchet record $REC names another policy)"
cmp -s "$T/before" "$REC" || fail "a refused equal-sequence apply changed the record"
expect_rc 0 exai-egress status --json
jq -e --argjson g "$gen" '.generation == $g' "$T/out" >/dev/null || fail "a refused equal-sequence apply swapped: $(cat "$T/out")"
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_rc 1 exai-egress reload --policy "$T/p5b.yaml" --root "$ROOT" --sig "$T/p5b.yaml.r1.minisig" --sig "$T/p5b.yaml.r2.minisig"
expect_contains "$T/err" "sequence 5 is in force with different content"
gone
expect_rc 1 apply2 "$T/p5b.yaml"
expect_contains "$T/err" "sequence 5 is in force with different content (the ratchet record $REC"
[ ! -e "$PIN" ] || fail "a refused apply loaded and pinned the programs"
expect_rc 0 apply2 "$T/p5.yaml"
ok "another policy signed with the sequence in force (5) is refused by apply and reload, also after a detach; the same bytes again are accepted"

cp "$REC" "$T/rec5"
gen=$(exai-egress status --json | jq .generation)
for bad in missing empty truncated corrupted version trailing; do
	cp "$T/rec5" "$REC"
	case $bad in
	missing) rm "$REC" ;;
	empty) : >"$REC" ;;
	truncated) head -c 60 "$T/rec5" >"$REC" ;;
	corrupted) sed -i 's/^sequence 5$/sequence 3/' "$REC" ;;
	version) sed -i 's/^exai-egress-ratchet 1$/exai-egress-ratchet 2/' "$REC" ;;
	trailing) printf 'x\n' >>"$REC" ;;
	esac
	[ -e "$REC" ] && cp "$REC" "$T/before" || rm -f "$T/before"
	for p in p5 p6; do
		expect_rc 2 apply2 "$T/$p.yaml"
		expect_contains "$T/err" "$REC"
		expect_contains "$T/err" "signed policies are refused until it is provisioned: run 'exai-egress init' once"
		expect_contains "$T/err" "re-opens replays of older signed policies"
	done
	expect_rc 2 exai-egress reload --policy "$T/p6.yaml" --root "$ROOT" --sig "$T/p6.yaml.r1.minisig" --sig "$T/p6.yaml.r2.minisig"
	expect_contains "$T/err" "$REC"
	if [ -e "$T/before" ]; then cmp -s "$T/before" "$REC" || fail "$bad: the refusal changed the record"; else [ ! -e "$REC" ] || fail "missing: a record appeared"; fi
	expect_rc 0 exai-egress status --json
	jq -e --argjson g "$gen" '.generation == $g and .ratchet.usable == false and (.ratchet.error | contains("exai-egress init"))' "$T/out" >/dev/null ||
		fail "$bad: status: $(cat "$T/out")"
done
expect_rc 0 exai-egress status
expect_contains "$T/out" "ratchet record: UNUSABLE: "
ok "a missing, empty, truncated, corrupted, other-version or trailing-bytes record refuses every signed apply and reload (exit 2, naming $REC and init); nothing changes"

rm -f "$REC"
expect_rc 0 exai-egress apply --policy "$T/p4.yaml" --unsigned
[ ! -e "$REC" ] || fail "--unsigned created a record"
ok "--unsigned neither needs nor creates the record"

# a re-init while the pins survive starts at the pinned sequence: nothing re-opens
expect_rc 0 exai-egress init
expect_contains "$T/out" "sequence 5 (the pinned policy's)"
rec_is 5
expect_rc 1 apply2 "$T/p4.yaml"
expect_contains "$T/err" "sequence 4 is older than sequence 5 in force"
cp "$REC" "$T/before"
expect_rc 1 exai-egress init
expect_contains "$T/err" "ratchet record $REC exists: init never replaces one"
cmp -s "$T/before" "$REC" || fail "a second init changed the record"
ok "init after a loss (pins there) starts at the pinned sequence 5; a second init is refused and changes nothing"

expect_rc 0 exai-egress apply --policy "$T/p5.yaml" --unsigned
rec_is 5
ok "an unsigned apply does not move the record"

# the record re-made by init names no policy and the pinned one is unsigned: which policy set
# sequence 5 is known to neither, so 5 again is refused (fail closed)
expect_rc 1 apply2 "$T/p5.yaml"
expect_contains "$T/err" "sequence 5 is in force (the ratchet record $REC) but which policy set it is not recorded"
rec_is 5
ok "a record without a digest over an unsigned pinned policy: sequence 5 cannot be told to be the same policy, refused"

cp "$T/rec5" "$REC" # the record naming p5, written back
expect_rc 0 apply2 "$T/p5.yaml"
# a restored backup below the pinned state: the pinned sequence still counts, and is raised
# (the pinned digest names the signed policy of sequence 5)
cp "$T/rec0" "$REC"
expect_rc 1 apply2 "$T/p4.yaml"
expect_contains "$T/err" "sequence 4 is older than sequence 5 in force (the pinned state)"
rec_is 0
expect_rc 0 exai-egress status
expect_contains "$T/out" "BELOW the pinned sequence"
expect_rc 0 apply2 "$T/p5.yaml"
rec_is 5
ok "a record restored from a backup (0) below the pinned sequence (5): 4 refused by the pinned state, then raised to 5"

# persisted before the swap: a crash between the two leaves the record ahead
gen=$(exai-egress status --json | jq .generation)
expect_rc 86 env EXAI_FAULT=egress-ratchet-stored:1:crash exai-egress apply --policy "$T/p6.yaml" --root "$ROOT" --sig "$T/p6.yaml.r1.minisig" --sig "$T/p6.yaml.r2.minisig"
rec_is 6
expect_rc 0 exai-egress status --json
jq -e --argjson g "$gen" '.generation == $g and .sequence == 5 and .ratchet.sequence == 6' "$T/out" >/dev/null || fail "after the crash: $(cat "$T/out")"
expect_rc 1 apply2 "$T/p5.yaml"
expect_contains "$T/err" "sequence 5 is older than sequence 6 in force (the ratchet record $REC)"
expect_rc 0 apply2 "$T/p6.yaml"
ok "a crash after the record was written, before the swap: the record (6) is ahead of the policy in force (5), fail closed"

# after a loss with nothing pinned, a re-init starts at 0: replays re-open (the operator's call)
gone
rm "$REC"
expect_rc 0 exai-egress init
rec_is 0
expect_rc 0 apply2 "$T/p4.yaml"
rec_is 4
ok "record lost and nothing pinned: init starts at 0 and says replays re-open; sequence 4 is accepted again"

# installs take turns: the flock on the pin directory's parent is held from the ratchet check
# to the end of the swap, so an apply waits while another holds it (here flock(1) holds it
# for 2 s), then checks against what the other one left
expect_rc 0 apply2 "$T/p5.yaml"
flock "$(dirname "$PIN")" sleep 2 &
held=$!
sleep 0.5
start=$(date +%s%N)
expect_rc 0 apply2 "$T/p6.yaml"
waited=$((($(date +%s%N) - start) / 1000000))
wait "$held"
[ "$waited" -ge 1000 ] || fail "apply did not wait for the install lock (took $waited ms while it was held)"
rec_is 6
ok "an apply waits for the install lock another install holds (${waited} ms), then checks and swaps"
