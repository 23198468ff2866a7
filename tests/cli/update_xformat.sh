# A model version installed from a bundle of one format, shipped again in the other format
# (issue 12; docs/update.md "The same version from the other format"): the same content is
# accepted (active: skipped; previous: its tree reused), decided on the per-file records of
# the verified incoming stream against the installed version's records in the state db; a
# different content is refused (versions are immutable) with the disk and the state untouched.
# Both directions: format 1 installed / format 2 incoming, and the reverse.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys

# mb OUT SEQ FORMAT APPVER MODELVER CONTENT: app APPVER, model llama MODELVER holding CONTENT.
mb() {
	d="$T/src/m-$2"
	mkdir -p "$d/sub"
	printf '%s\n' "$6" >"$d/weights.bin"
	printf 'tokenizer\n' >"$d/sub/tok.json"
	src_app "$4"
	BUNDLE_FORMAT=$3 bundle_of "$1" "$2" \
		"{type: software, name: app, version: '$4', source: ./src/app-$4}" \
		"{type: model, name: llama, version: '$5', source: ./src/m-$2}"
	exai-bundle inspect "$1" --key "$T/site.key" --json >"$T/insp"
	[ "$(jq -r .index.format_version "$T/insp")" = "$3" ] || fail "$1 is not format $3"
}
row() { sqlite3 "$T/state/state.db" "SELECT $1 FROM installed WHERE type = 'model' AND name = 'llama'"; }
ino() { stat -c %i "$T/inst/models/llama/$1/weights.bin"; }
fresh() { rm -rf "$T/state" "$T/inst" "$T"/a[0-9]; write_config; }

for dir in "1 2" "2 1"; do
	set -- $dir
	old=$1 new=$2
	fresh
	mb "$T/a1" 1 "$old" 1.0 1 "weights one"
	expect_rc 0 U apply "$T/a1"
	sha1=$(row sha256)
	i1=$(ino 1)
	# the same version and content in the other format: accepted, the tree not re-staged
	mb "$T/a2" 2 "$new" 2.0 1 "weights one"
	expect_rc 0 U apply "$T/a2"
	assert_app 2.0
	[ "$(row version)" = 1 ] && [ "$(row sha256)" = "$sha1" ] || fail "model row changed: $(row 'version, sha256')"
	[ "$(ino 1)" = "$i1" ] || fail "model version 1 was staged again"
	[ "$(cat "$T/inst/models/llama/current/weights.bin")" = "weights one" ] || fail "model content"
	ok "format $old installed, format $new incoming: the same version and content is accepted, nothing re-staged"

	# the same version with different content in the other format: refused, nothing changed
	snapshot >"$T/before"
	mb "$T/a3" 3 "$new" 3.0 1 "weights ONE"
	set +e
	U apply "$T/a3" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ "$rc" -ne 0 ] || fail "different content of version 1 accepted"
	expect_contains "$T/err" "model/llama: version 1 is installed (active) with different content"
	expect_contains "$T/err" "versions are immutable"
	expect_contains "$T/out" "refused"
	U history | tail -1 | grep -Eq "apply +refused .*versions are immutable" ||
		fail "history: $(U history | tail -1)"
	snapshot >"$T/after"
	diff "$T/before" "$T/after" || fail "refused apply changed the disk or the state"
	[ "$(cat "$T/inst/models/llama/1/weights.bin")" = "weights one" ] || fail "model bytes changed"
	ok "format $old installed, format $new incoming: the same version with different content is refused (exit $rc), disk and state untouched"

	# the previous version (rollback slot): version 2 in format $old, then 1 again in format
	# $new: different content refused, the same content reuses the tree on disk
	mb "$T/a4" 4 "$old" 4.0 2 "weights two"
	expect_rc 0 U apply "$T/a4"
	[ "$(row version)" = 2 ] && [ "$(row prev_version)" = 1 ] || fail "model rows: $(row 'version, prev_version')"
	snapshot >"$T/before"
	mb "$T/a5" 5 "$new" 5.0 1 "weights uno"
	set +e
	U apply "$T/a5" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ "$rc" -ne 0 ] || fail "different content of the previous version accepted"
	expect_contains "$T/err" "model/llama: version 1 is installed (previous) with different content"
	snapshot >"$T/after"
	diff "$T/before" "$T/after" || fail "refused apply changed the disk or the state"
	mb "$T/a6" 6 "$new" 6.0 1 "weights one"
	expect_rc 0 U apply "$T/a6"
	expect_contains "$T/out" "(already on disk)"
	[ "$(row version)" = 1 ] && [ "$(row prev_version)" = 2 ] || fail "model rows: $(row 'version, prev_version')"
	[ "$(ino 1)" = "$i1" ] || fail "model version 1 was staged again"
	[ "$(cat "$T/inst/models/llama/current/weights.bin")" = "weights one" ] || fail "model content"
	[ "$(db_records model llama 1)" = "$(disk_records "$T/inst/models/llama/1")" ] || fail "records of version 1"
	ok "format $old installed, format $new incoming: the previous version is reused when its content is the same, refused when not"
done

# a missing record (a state db of an older build, or a damaged one): refused, fail closed
fresh
mb "$T/a1" 1 1 1.0 1 "weights one"
expect_rc 0 U apply "$T/a1"
sqlite3 "$T/state/state.db" "DELETE FROM installed_file WHERE type = 'model'"
mb "$T/a2" 2 2 2.0 1 "weights one"
set +e
U apply "$T/a2" >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "accepted without records to compare"
expect_contains "$T/err" "without per-file records to compare"
assert_app 1.0
ok "no per-file records of the installed version: the other format's bundle is refused"
