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
