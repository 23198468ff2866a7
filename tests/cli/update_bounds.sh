# exai-update's bounds refuse or say what they left out; they never cut silently.
# - A media directory with more candidates than exai-update weighs is refused: choosing the
#   newest among only some of them could pick an older bundle.
# - A bundle with more changes than the result lists says how many were not listed, in
#   text and in JSON.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "hooks: {health_check: [/bin/true]}"
mkdir -p "$T/media"
bundle "$T/media/b1.exb" 1 1 1
i=0
while [ $i -lt 64 ]; do : >"$T/media/junk$i.exb"; i=$((i + 1)); done
base=$(snapshot)
expect_rc 1 U apply "$T/media"
expect_contains "$T/err" "more than 64 bundles on the media: refusing to choose among only some of them"
[ "$(snapshot)" = "$base" ] || fail "a refused media directory changed the appliance"
rm "$T/media/junk0.exb"
expect_rc 0 U apply "$T/media"
assert_app 1
ok "65 candidates on the media are refused; 64 are weighed and the good one applies"

set --
i=0
while [ $i -lt 70 ]; do
	mkdir -p "$T/src/f$i"
	echo "file $i" >"$T/src/f$i/c.conf"
	set -- "$@" "{type: files, name: f$i, version: '1', source: ./src/f$i}"
	i=$((i + 1))
done
bundle_of "$T/many.exb" 2 "$@"
expect_rc 0 U apply "$T/many.exb"
[ "$(grep -c '^  files/' "$T/out")" = 64 ] || { cat "$T/out"; fail "not 64 changes listed"; }
expect_contains "$T/out" "... and 6 more changes not listed here"
mkdir -p "$T/src/f70" && echo x >"$T/src/f70/c.conf"
bundle_of "$T/many2.exb" 3 "$@" "{type: files, name: f70, version: '1', source: ./src/f70}"
expect_rc 0 U --json verify "$T/many2.exb"
[ "$(jq '.changes | length' "$T/out")" = 64 ] || fail "json changes"
[ "$(jq .changes_omitted "$T/out")" = 7 ] || { cat "$T/out"; fail "json changes_omitted"; }
ok "71 components: 64 changes listed and the 7 left out are counted, in text and JSON"
echo "$tests_run passed, 0 failed"
