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

# A directory bundle's payload is a FIFO: refused at once, never a blocked open (timeout
# turns a hang into a failure).
base=$(snapshot)
bundle "$T/b4" 4 4 4 "$NOW"
mv "$T/b4/payload" "$T/b4.payload"
mkfifo "$T/b4/payload"
expect_rc 1 timeout 10 exai-update --config "$T/update.yaml" verify "$T/b4"
expect_contains "$T/err" "payload: not a regular file"
expect_rc 1 timeout 10 exai-update --config "$T/update.yaml" apply "$T/b4"
expect_contains "$T/err" "payload: not a regular file"
[ "$(snapshot)" = "$base" ] || fail "a FIFO payload changed state"
ok "a directory bundle whose payload is a FIFO is refused by verify and apply, without hanging"

# The payload is swapped for a FIFO after the bundle was opened and verified, just before it
# is opened again to be read: the reopened file must still be the regular file seen at open.
rm "$T/b4/payload"
mv "$T/b4.payload" "$T/b4/payload"
# swap_at_reopen CMD: runs exai-update CMD on b4, stopped where the payload is reopened; the
# payload is replaced by a FIFO there; then it must end within 10 s. Sets $rc.
swap_at_reopen() {
	EXAI_FAULT=payload.reopen:1:stop exai-update --config "$T/update.yaml" "$1" "$T/b4" \
		>"$T/out" 2>"$T/err" &
	pid=$!
	i=0
	while [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != T ]; do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; cat "$T/err" >&2;
			fail "$1 ended without reaching the payload reopen"; }
		i=$((i + 1))
		[ "$i" -lt 200 ] || { kill -KILL "$pid"; fail "$1 never stopped at the reopen"; }
		sleep 0.05
	done
	mv "$T/b4/payload" "$T/b4.payload"
	mkfifo "$T/b4/payload"
	kill -CONT "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ]; do
		i=$((i + 1))
		[ "$i" -lt 200 ] || { kill -KILL "$pid"; fail "$1 hangs on a FIFO swapped in for the payload"; }
		sleep 0.05
	done
	set +e
	wait "$pid"
	rc=$?
	set -e
	rm "$T/b4/payload"
	mv "$T/b4.payload" "$T/b4/payload"
}
for cmd in verify apply; do
	swap_at_reopen $cmd
	[ "$rc" = 1 ] || { cat "$T/err" >&2; fail "$cmd: exit $rc after the payload became a FIFO"; }
	expect_contains "$T/err" "payload: not a regular file any more"
	[ "$(snapshot)" = "$base" ] || fail "$cmd: a payload swapped for a FIFO changed state"
done
ok "a payload swapped for a FIFO after open is refused by verify and apply within 10 s"

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
# The free-space check refuses up front (mid-write ENOSPC: tests/cli/update_space.sh).
expect_contains "$T/enospc.err" "not enough space: staging"
cmp -s "$T/snap1" "$T/snap2" || fail "ENOSPC changed state"
[ ! -s "$T/leftover" ] || fail "staging left behind after ENOSPC"
ok "a bundle too large for a 1 MiB filesystem: apply refuses, nothing staged, nothing changes"
