# Crash consistency. An apply of a bundle changing software, a model, a policy and the rootfs
# is run once with EXAI_FAULT_LOG to list every fault point it reaches (each file written,
# fsync, rename, link switch, database commit...). Then, for every point and every time it is
# reached, the appliance is reset to the old state, the apply is killed right there
# (EXAI_FAULT=<point>:<n>:crash, _exit(86) like a power cut), `recover` runs, and the
# installed trees, active links, boot selector and status must be wholly old or wholly new,
# and the state db's per-file records must match every installed tree exactly.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
mkdir -p "$T/slots" "$T/boot"
truncate -s 256K "$T/slots/a.img" "$T/slots/b.img"
write_config "rootfs: {slot_a: $T/slots/a.img, slot_b: $T/slots/b.img, boot_selector: $T/boot/selector}" \
	"hooks: {health_check: [/bin/true], policy_reload: [/bin/true]}"

# b VERSION SEQ: app, model, policy and a raw rootfs image, all versioned.
b() {
	v=$1
	mkdir -p "$T/src/pol-$v"
	echo "policy $v" >"$T/src/pol-$v/egress.yaml"
	head -c 100000 /dev/urandom >"$T/src/rootfs-$v.img"
	bundle "$T/b$v" "$2" "$v" "$v" "$NOW" \
		"  - {type: policy, name: egress, version: '$v', source: ./src/pol-$v}" \
		"  - {type: rootfs, name: os, version: '$v', source: ./src/rootfs-$v.img}"
}
b 1 1
b 2 2
expect_rc 0 U apply "$T/b1"
[ "$(cat "$T/boot/selector")" = B ] || fail "rootfs not switched to B"

save() { rm -rf "$T/base" && mkdir "$T/base" && cp -a "$T/state" "$T/inst" "$T/boot" "$T/slots" "$T/base/"; }
restore() { rm -rf "$T/state" "$T/inst" "$T/boot" "$T/slots" && cp -a "$T/base/state" "$T/base/inst" "$T/base/boot" "$T/base/slots" "$T/"; }
save
OLD=$(snapshot)
EXAI_FAULT_LOG="$T/points" U apply "$T/b2" >/dev/null || fail "clean apply of b2 failed"
NEW=$(snapshot)
[ "$OLD" != "$NEW" ] || fail "b2 changed nothing"
assert_app 2
[ "$(cat "$T/boot/selector")" = A ] || fail "rootfs not switched back to A"
sort "$T/points" | uniq -c | sort -k2 >"$T/counts"
for p in stage.write stage.syncfs stage.fsync db.commit switch.rename switch.link switch.fsync fsync rename fsyncdir; do
	grep -q " $p\$" "$T/counts" || fail "fault point $p never reached: $(cat "$T/counts")"
done
ok "a clean apply reaches every kind of fault point ($(wc -l <"$T/points") in all)"

runs=0 olds=0 news=0
while read -r count point; do
	k=1
	while [ "$k" -le "$count" ]; do
		restore
		set +e
		EXAI_FAULT="$point:$k:crash" U apply "$T/b2" >"$T/out" 2>"$T/err"
		rc=$?
		set -e
		[ "$rc" = 86 ] || fail "$point:$k: expected the injected crash (86), got $rc"
		expect_rc 0 U recover
		S=$(snapshot)
		if [ "$S" = "$OLD" ]; then
			olds=$((olds + 1))
		elif [ "$S" = "$NEW" ]; then
			news=$((news + 1))
		else
			printf '%s\n' "$OLD" >"$T/old.snap"
			printf '%s\n' "$S" >"$T/got.snap"
			printf '%s\n' "$NEW" >"$T/new.snap"
			diff "$T/old.snap" "$T/got.snap" >&2 || true
			fail "$point:$k: after recover the appliance is neither wholly old nor wholly new"
		fi
		U --json status | jq -e '.pending == null' >/dev/null || fail "$point:$k: still pending"
		assert_records
		runs=$((runs + 1))
		k=$((k + 1))
	done
done <"$T/counts"
[ "$olds" -gt 0 ] && [ "$news" -gt 0 ] || fail "expected both outcomes (old $olds, new $news)"
ok "crash at each of $runs points, then recover: wholly old $olds times, wholly new $news times"

# After a crash before the commit point, the same bundle still applies (nothing was ratcheted).
restore
set +e
EXAI_FAULT="stage.syncfs:1:crash" U apply "$T/b2" >/dev/null 2>&1
set -e
expect_rc 4 U apply "$T/b2"
expect_contains "$T/err" "must be finished first: run 'exai-update recover'"
expect_rc 0 U recover
expect_contains "$T/out" "undone"
expect_rc 0 U apply "$T/b2"
[ "$(snapshot)" = "$NEW" ] || fail "re-apply after recover differs from a clean apply"
ok "an interrupted apply blocks new ones (exit 4) until recover; then it applies cleanly"

# An injected (non-crash) failure at each commit of the apply also ends wholly old or new.
for k in 1 2 3; do
	restore
	set +e
	EXAI_FAULT="db.commit:$k:fail" U apply "$T/b2" >/dev/null 2>&1
	set -e
	U recover >/dev/null 2>&1 || true
	S=$(snapshot)
	[ "$S" = "$OLD" ] || [ "$S" = "$NEW" ] || fail "db.commit:$k:fail left a mix"
	assert_records
done
ok "a failing database commit at each step ends wholly old or wholly new (file records too)"

# ---- reserved names, and a switch that can go neither forward nor back ----
# exai-bundle refuses a version the install layout uses itself, naming the spec field.
mkdir -p "$T/src/mcur"
echo "weights current" >"$T/src/mcur/weights.bin"
printf 'channel: stable\nsequence: 9\nexpires_in_days: 30\ntarget: {classes: [gpu]}\ncomponents:\n  - {type: model, name: llama, version: current, source: ./src/mcur}\n' >"$T/spec-cur.yaml"
(cd "$T" && expect_rc 2 exai-bundle create spec-cur.yaml --out cur.exb --recipient site.pub)
expect_contains "$T/err" "spec-cur.yaml:6:41: component version 'current' is reserved"
[ ! -e "$T/cur.exb" ] || fail "exai-bundle wrote a bundle with version current"
ok "exai-bundle create refuses 'version: current', naming the field"

# The same bundle built by an insider without exai-bundle's checks: apply refuses it.
restore
tar --format=pax -cf "$T/mcur.tar" -C "$T/src/mcur" .
"$MK" --out "$T/hostile" --sequence 3 --created "$NOW" --expires $((NOW + 86400)) --class gpu \
	--recipient "$T/site.pub" --sign "$T/rel1.key" \
	--comp "model:llama:current:tar:llama:auto:auto:-:$T/mcur.tar" >/dev/null
expect_rc 1 U apply "$T/hostile"
expect_contains "$T/err" "'current' is a name the install layout reserves"
[ "$(snapshot)" = "$OLD" ] || fail "the hostile bundle changed state"
[ -L "$T/inst/models/llama/current" ] || fail "models/llama/current is no longer a symlink"
ok "a signed bundle with model version 'current' is refused; nothing changes"

# What an older exai-update left behind on such a bundle: the staged tree renamed onto
# models/llama/current (a directory of unchecked content in place of the link), the journal
# naming version 'current'. Neither switching forward nor back can put a link there; recover
# must still finish: old version active, the directory quarantined and named, a history row.
for phase in switching reverting; do
	restore
	set +e
	EXAI_FAULT="switch.rename:1:crash" U apply "$T/b2" >/dev/null 2>&1
	set -e
	plan=$(sqlite3 "$T/state/state.db" "SELECT plan FROM journal")
	[ -n "$plan" ] || fail "no journal after the crash"
	plan=$(printf '%s' "$plan" | jq -c '(.ops[] | select(.kind == 1)) |= (.version = "current" | .new = "current")')
	sqlite3 "$T/state/state.db" "UPDATE journal SET phase = '$phase', plan = '$plan'"
	m="$T/inst/models/llama"
	rm "$m/current"
	mv "$m/.stage-2" "$m/current"
	expect_rc 3 U recover
	expect_contains "$T/out" "quarantined (inspect, then remove): $m/.quarantine-"
	q=$(ls -d "$m"/.quarantine-*-current)
	[ "$(cat "$q/weights.bin")" = "weights 2" ] || fail "$phase: quarantined tree content"
	[ "$(readlink "$m/current")" = 1 ] || fail "$phase: models/llama/current is not the link to 1"
	assert_app 1
	assert_model 1
	[ "$(cat "$T/boot/selector")" = B ] || fail "$phase: rootfs not back on B"
	U --json status | jq -e '.pending == null' >/dev/null || fail "$phase: still pending"
	U --json history | jq -e --arg q "$q" '.history[-1] | .op == "recover" and .outcome == "quarantined" and (.reason | contains($q))' >/dev/null ||
		fail "$phase: no quarantine history row: $(U history | tail -1)"
	expect_rc 0 U recover
	expect_contains "$T/out" "clean"
	expect_rc 0 U apply "$T/b2"
	assert_app 2
	assert_model 2
	ok "journal '$phase' with version 'current' and a directory at current: recover ends with the old version active, $(basename "$q") quarantined, then b2 applies"
done

# rollback, too, quarantines what blocks its switch instead of leaving a journal behind.
m="$T/inst/models/llama"
rm "$m/current"
mkdir "$m/current"
echo "not ours" >"$m/current/weights.bin"
expect_rc 0 U rollback
expect_contains "$T/out" "quarantined (inspect, then remove): $m/.quarantine-"
assert_model 1
assert_app 1
q=$(sed -n 's/.*quarantined (inspect, then remove): //p' "$T/out")
[ "$(cat "$q/weights.bin")" = "not ours" ] || fail "rollback: quarantined content"
U --json history | jq -e --arg q "$q" '.history[-1] | .op == "rollback" and .outcome == "ok" and (.reason | contains($q))' >/dev/null ||
	fail "rollback: no history row naming the quarantine"
U --json status | jq -e '.pending == null' >/dev/null || fail "rollback left a journal"
ok "rollback with a directory at current: quarantined ($(basename "$q")), previous versions active, no journal"
