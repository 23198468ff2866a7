# Hostile or failing media and a full disk: a read error in the middle of the payload, media
# that ends early, and ENOSPC while staging (a 1 MiB tmpfs in a private mount namespace, as
# root). Each apply fails, staging is removed, and nothing installed changes.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "hooks: {health_check: [/bin/true]}"
bundle "$T/b1" 1 1 1
expect_rc 0 U apply "$T/b1"
base=$(snapshot)

# A 2 MiB model in 64 KiB chunks: many reads, so one can fail in the middle.
bundle "$T/b2" 2 2 2 "$NOW" "chunk_size: 65536"
head -c $((2 << 20)) /dev/urandom >"$T/src/model-2/weights.bin"
rm -rf "$T/b2"
(cd "$T" && SOURCE_DATE_EPOCH=$NOW exai-bundle create spec-2.yaml --out b2 --recipient site.pub \
	>/dev/null && exai-bundle sign b2 --key rel1.key >/dev/null)
EXAI_FAULT_LOG="$T/reads" U verify "$T/b2" >/dev/null
n=$(grep -c '^read$' "$T/reads")
[ "$n" -gt 20 ] || fail "expected many media reads, saw $n"
k=$((n - 5))
# One worker: the reader runs far ahead of it, so the failed read happens while earlier
# chunks still wait to be checked (the pipeline must finish those, then report the read; it
# once hung there). timeout turns a hang into a failure.
expect_rc 1 env EXAI_FAULT="read:$k:fail" EXAI_WORKERS=1 timeout 60 exai-update --config "$T/update.yaml" apply "$T/b2"
expect_contains "$T/err" "Input/output error"
[ "$(snapshot)" = "$base" ] || fail "read error changed state"
[ -z "$(find "$T/inst" -name '.stage*')" ] || fail "staging left behind"
ok "a media read error at read $k of $n: apply fails, nothing changes"

(cd "$T" && SOURCE_DATE_EPOCH=$NOW exai-bundle create spec-2.yaml --out b2.exb \
	--recipient site.pub >/dev/null && exai-bundle sign b2.exb --key rel1.key >/dev/null)
head -c $(($(stat -c %s "$T/b2.exb") / 2)) "$T/b2.exb" >"$T/short.exb"
expect_rc 1 U apply "$T/short.exb"
[ "$(snapshot)" = "$base" ] || fail "short media changed state"
ok "media that ends early is refused, nothing changes"

expect_rc 0 U apply "$T/b2.exb"
cmp -s "$T/inst/models/llama/current/weights.bin" "$T/src/model-2/weights.bin" ||
	fail "full media did not apply"
ok "the complete media then applies"

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	echo "ok - SKIP ENOSPC test (needs root for a private tmpfs)"
	exit 0
fi
bundle "$T/b3" 3 3 3 "$NOW"
head -c $((3 << 20)) /dev/urandom >"$T/src/model-3/weights.bin"
rm -rf "$T/b3"
(cd "$T" && SOURCE_DATE_EPOCH=$NOW exai-bundle create spec-3.yaml --out b3 --recipient site.pub \
	>/dev/null && exai-bundle sign b3 --key rel1.key >/dev/null)
mkdir -p "$T/small"
sed "s|$T/inst|$T/small|g" "$T/update.yaml" | sed "s|$T/state|$T/state2|" >"$T/small.yaml"
cat >"$T/inner.sh" <<EOS
set -e
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$T/small"
snap() { (cd "$T/small" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort); exai-update --config "$T/small.yaml" --json status; }
exai-update --config "$T/small.yaml" init >/dev/null
exai-update --config "$T/small.yaml" apply "$T/b1" >/dev/null
snap >"$T/snap1"
set +e
exai-update --config "$T/small.yaml" apply "$T/b3" >"$T/enospc.out" 2>"$T/enospc.err"
echo \$? >"$T/enospc.rc"
set -e
snap >"$T/snap2"
find "$T/small" -name '.stage*' >"$T/leftover"
EOS
unshare -m sh "$T/inner.sh"
[ "$(cat "$T/enospc.rc")" = 1 ] || fail "ENOSPC apply exit $(cat "$T/enospc.rc"): $(cat "$T/enospc.err")"
expect_contains "$T/enospc.err" "No space left on device"
cmp -s "$T/snap1" "$T/snap2" || fail "ENOSPC changed state"
[ ! -s "$T/leftover" ] || fail "staging left behind after ENOSPC"
ok "ENOSPC while staging on a 1 MiB filesystem: apply fails, staging removed, nothing changes"
