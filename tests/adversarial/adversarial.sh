# Adversarial bundles through every verifier (close the class, not the instance).
#
# One good bundle, signed by all three release keys of a 3-of-3 root, is taken apart by
# gen.py into hostile variants an insider with valid keys or a holder of the media could
# make: threshold padding, copies of one signature under other ids, repeated entries of every
# kind, entries out of order, a payload 8 bytes off, every limit plus one, a re-signed index
# with a 2^63 sequence, a root (signed by a real root key) that lists one key three times.
# Each goes through `exai-bundle verify`, `exai-update verify`, `exai-update apply` and
# `airgap-verifier bundle`; every one must refuse, naming the specific cause, and the
# appliance (installed trees, links, ratchets, status) must be byte for byte unchanged.
# Cases that sit exactly at a limit must still verify in all three verifiers.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
PY=/usr/bin/python3
AV="$EXAI_BUILD/verifier/airgap-verifier"

setup_keys
(cd "$T" && rm -f root.v1 &&
	exai-bundle root init --out root.v1 --root-key root1.pub --root-threshold 1 \
		--release-key rel1.pub --release-key rel2.pub --release-key rel3.pub \
		--release-threshold 3 --created $((NOW - 86400)) >/dev/null &&
	exai-bundle root sign root.v1 --key root1.key >/dev/null)
write_config "hooks: {health_check: [/bin/true]}"

sign23() { for k in rel2 rel3; do exai-bundle sign "$1" --key "$T/$k.key" >/dev/null; done; }
bundle "$T/b1.exb" 1 1 1 && sign23 "$T/b1.exb"
expect_rc 0 U apply "$T/b1.exb"
bundle "$T/b2.exb" 2 2 2 && sign23 "$T/b2.exb"
expect_rc 0 U verify "$T/b2.exb"
expect_rc 0 exai-bundle verify "$T/b2.exb" --root "$T/root.v1" --key "$T/site.key"
expect_rc 0 "$AV" bundle "$T/b2.exb" --root "$T/root.v1" --key "$T/site.key"
ok "control: the good bundle of sequence 2 verifies in all three verifiers (3 of 3)"
base=$(snapshot)

mkdir "$T/cases"
$PY "$EXAI_SRC/tests/adversarial/gen.py" "$T/b2.exb" "$T/cases" "$T/root1.key" \
	"$T/rel1.key" "$T/rel2.key" "$T/rel3.key" >"$T/cases.tsv"
[ "$(wc -l <"$T/cases.tsv")" -ge 30 ] || fail "generator made too few cases"

# must_refuse TOOL-NAME TEXT CMD...: exit 1, TEXT in what it printed.
must_refuse() {
	what=$1 text=$2
	shift 2
	set +e
	timeout 60 "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ "$rc" = 1 ] || { cat "$T/out" "$T/err" >&2; fail "$name: $what exited $rc, not 1"; }
	cat "$T/out" "$T/err" | grep -qF -- "$text" ||
		{ cat "$T/out" "$T/err" >&2; fail "$name: $what did not say '$text'"; }
}

n=0
while IFS="$(printf '\t')" read -r name verdict text; do
	f="$T/cases/$name.exb"
	if [ "$verdict" = accept ]; then
		expect_rc 0 exai-bundle verify "$f" --root "$T/root.v1" --key "$T/site.key"
		expect_rc 0 U verify "$f"
		expect_rc 0 "$AV" bundle "$f" --root "$T/root.v1" --key "$T/site.key"
	else
		must_refuse "exai-bundle verify" "$text" \
			exai-bundle verify "$f" --root "$T/root.v1" --key "$T/site.key"
		must_refuse "exai-update verify" "$text" exai-update --config "$T/update.yaml" verify "$f"
		must_refuse "exai-update apply" "$text" exai-update --config "$T/update.yaml" apply "$f"
		must_refuse "airgap-verifier bundle" "$text" \
			"$AV" bundle "$f" --root "$T/root.v1" --key "$T/site.key"
		[ "$(snapshot)" = "$base" ] || { snapshot >"$T/after"; fail "$name changed the appliance"; }
	fi
	n=$((n + 1))
	ok "$name: $verdict${text:+ ($text)} in every verifier"
done <"$T/cases.tsv"

# And the good bundle still applies afterwards: nothing above wedged the appliance.
expect_rc 0 U apply "$T/b2.exb"
assert_app 2
ok "after $n hostile cases, the good bundle of sequence 2 applies"
echo "$tests_run passed, 0 failed"
