# Every refusal leaves the installed trees, active links, ratchets and status exactly as they
# were (compared byte for byte via snapshot); its only trace is its own history row.
# Covers: replay, lower sequence, freeze, expiry against the ratchet (not the clock), wrong
# class, wrong site, unmet threshold (via a root chain raising it), unknown key, revoked key
# (via a root chain dropping it, which also persists the newer root), bad signature, a bundle
# not encrypted to this site, truncated media, and a tampered chunk found mid-stream.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "hooks: {health_check: [/bin/true]}"
mkdir -p "$T/src/app"
echo "app v" >"$T/src/app/file"
tar --format=pax -cf "$T/app.tar" -C "$T/src/app" .

# mkb OUT SEQ CREATED [extra upd_mkbundle options]: app component, signed by rel1 unless the
# extra options say otherwise (SIGN=none).
mkb() {
	o=$1 s=$2 c=$3
	shift 3
	sign="--sign $T/rel1.key"
	[ "${SIGN:-}" = none ] && sign=""
	[ -n "${SIGN:-}" ] && [ "$SIGN" != none ] && sign="--sign $SIGN"
	"$MK" --out "$o" --sequence "$s" --created "$c" --expires "${EXP:-$((c + 86400))}" \
		${CLASS---class gpu} --recipient "${RCPT:-$T/site.pub}" $sign \
		--comp "software:app:$s:tar:app:auto:auto:-:$T/app.tar" "$@" >/dev/null
}

mkb "$T/ok5" 5 "$NOW"
expect_rc 0 U apply "$T/ok5"
base=$(snapshot)
hist=$(U history | wc -l)

# refused DESC EXPECTED-TEXT BUNDLE: apply refused (exit 1), nothing changed, one history row.
refused() {
	expect_rc 1 U apply "$3"
	expect_contains "$T/err" "$2"
	[ "$(snapshot)" = "$base" ] || { snapshot >"$T/after"; fail "$1 changed state"; }
	hist=$((hist + 1))
	[ "$(U history | wc -l)" = "$hist" ] || fail "$1: not exactly one history row"
	U history | tail -1 | grep -q "apply" || fail "$1: history row"
	ok "refused: $1"
}

refused "replay of the applied bundle" "rollback/replay: sequence 5 is not above 5" "$T/ok5"
mkb "$T/seq3" 3 $((NOW + 5))
refused "lower sequence" "rollback/replay: sequence 3 is not above 5" "$T/seq3"
mkb "$T/old" 6 $((NOW - 100))
refused "freeze (older than the newest signed time)" "freeze: bundle created at" "$T/old"
EXP=$((NOW - 500)) mkb "$T/exp" 6 $((NOW - 1000))
refused "expired against the ratchet" "bundle expired at $((NOW - 500)) (time now $NOW)" "$T/exp"
CLASS="--class cpu" mkb "$T/cls" 6 "$NOW"
refused "wrong class" "wrong target: bundle is for class cpu" "$T/cls"
CLASS="--site site-2" mkb "$T/site" 6 "$NOW"
refused "wrong site" "wrong target: bundle is for site site-2" "$T/site"
SIGN=none mkb "$T/unsigned" 6 "$NOW"
refused "no signature" "signatures: 0 valid of the 1 required" "$T/unsigned"
SIGN="$T/rel3.key" mkb "$T/unknown" 6 "$NOW"
refused "unknown key" "unknown key" "$T/unknown"
exai-bundle keygen --type site --out "$T/other" >/dev/null
RCPT="$T/other.pub" mkb "$T/notours" 6 "$NOW"
refused "not encrypted to this site" "not encrypted to site key" "$T/notours"

mkb "$T/badsig" 6 "$NOW"
sed -i 's/^sequence 6$/sequence 7/' "$T/badsig/index"
refused "index changed after signing" "bad signature" "$T/badsig"

mkb "$T/trunc" 6 "$NOW"
truncate -s -1 "$T/trunc/payload"
refused "truncated media" "payload:" "$T/trunc"

# A root chain on the media raising the release threshold to 2: one signature is not enough.
(cd "$T" && exai-bundle root init --out root.t2 --version 2 --root-key root1.pub \
	--root-threshold 1 --release-key rel1.pub --release-key rel2.pub --release-threshold 2 \
	--created "$NOW" >/dev/null && exai-bundle root sign root.t2 --key root1.key >/dev/null)
mkb "$T/thr" 6 "$NOW" --root-chain "$T/root.t2"
refused "unmet threshold (root v2 carried on the media)" "1 valid of the 2 required by root version 2" "$T/thr"
[ ! -e "$T/state/root" ] || fail "a refused bundle's root was persisted"

# A tampered chunk is only seen while streaming: a failure, staging undone, nothing changed.
mkb "$T/tamper" 6 "$NOW"
printf 'X' | dd of="$T/tamper/payload" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_rc 1 U apply "$T/tamper"
expect_contains "$T/err" "chunk 0: hash mismatch"
[ "$(snapshot)" = "$base" ] || fail "tampered chunk changed state"
[ -z "$(find "$T/inst" -name '.stage*')" ] || fail "staging left behind"
hist=$((hist + 1))
ok "failed: tampered chunk mid-stream, staging removed, nothing changed"

# Root rotation on the media revoking rel2: the chain moves the trusted root forward (and it is
# persisted); afterwards a bundle signed by rel2 alone is refused.
(cd "$T" && exai-bundle root init --out root.v2 --version 2 --root-key root1.pub \
	--root-threshold 1 --release-key rel1.pub --release-key rel3.pub --release-threshold 1 \
	--created "$NOW" >/dev/null && exai-bundle root sign root.v2 --key root1.key >/dev/null)
mkb "$T/rot" 6 "$NOW" --root-chain "$T/root.v2"
expect_rc 0 U apply "$T/rot"
grep -q '^version 2$' "$T/state/root" || fail "newer root not persisted"
[ "$(U --json status | jq .ratchets.root_version)" = 2 ] || fail "root version ratchet"
base=$(snapshot)
hist=$(U history | wc -l)
SIGN="$T/rel2.key" mkb "$T/revoked" 7 "$NOW"
refused "revoked key (dropped by root v2)" "unknown key" "$T/revoked"
SIGN="$T/rel3.key" mkb "$T/newkey" 7 "$NOW"
expect_rc 0 U apply "$T/newkey"
ok "a key added by root v2 is accepted"

expect_rc 1 U verify "$T/revoked"
expect_contains "$T/err" "unknown key"
U history | tail -1 | grep -Eq "verify +refused" || fail "verify refusal not in history"
ok "verify refuses the same way and records it"
