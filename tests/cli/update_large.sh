# A model large enough for the streaming write path (writeback every 32 MiB, a background
# fdatasync every 128 MiB): it installs byte for byte, the background flush really runs, the
# installed file is not left in the page cache on a disk filesystem, and a failed background
# flush fails the apply with nothing changed.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config
bundle "$T/b1" 1 1 1
expect_rc 0 U apply "$T/b1"
base=$(snapshot)

# 200 MiB of random weights, stored raw: 6 writeback steps and 1 background flush.
mkdir -p "$T/src/big"
head -c $((200 << 20)) /dev/urandom >"$T/src/big/weights.bin"
bundle_of "$T/b2.exb" 2 "{type: model, name: big, version: '1', source: ./src/big/weights.bin}"

expect_rc 1 env EXAI_FAULT=flush:1:fail exai-update --config "$T/update.yaml" apply "$T/b2.exb"
expect_contains "$T/err" "weights.bin"
expect_contains "$T/err" "fdatasync"
# same_state BEFORE WHAT: the snapshot still equals BEFORE; otherwise show the difference.
same_state() {
	echo "$1" >"$T/before"
	snapshot >"$T/after"
	diff "$T/before" "$T/after" >&2 || fail "$2 changed state"
}
same_state "$base" "a failed background flush"
[ -z "$(find "$T/inst" -name '.stage*')" ] || fail "staging left behind"
ok "a failed background fdatasync fails the apply and changes nothing"

EXAI_FAULT_LOG="$T/points" U apply "$T/b2.exb" >/dev/null || fail "apply of the large model failed: $(cat "$T/err")"
n=$(grep -c '^flush$' "$T/points" || true)
[ "$n" -ge 1 ] || fail "the background flush never ran"
inst="$T/inst/models/big/current/weights.bin"
if [ "$(stat -f -c %T "$T")" != tmpfs ]; then
	# fincore: resident pages of the file. Writeback drops each 32 MiB step once it is on disk,
	# so at most the last three steps (96 MiB; exai/wb.h) may still be cached.
	res=$(fincore --bytes --noheadings --output RES "$(readlink -f "$inst")" | tr -d ' ')
	[ "$res" -le $((96 << 20)) ] || fail "installed model still has $res bytes in the page cache"
	ok "the installed model is not left in the page cache ($res bytes resident)"
else
	echo "ok - SKIP page-cache check ($T is on tmpfs)"
fi
cmp -s "$inst" "$T/src/big/weights.bin" || fail "installed model differs from its source"
ok "a 200 MiB model installs byte for byte through the streaming writer ($n background flush)"


# The same 200 MiB file inside a tar component (a model directory, as most models ship):
# streamed to the disk by the extractor as well, and a failed background flush fails it.
mkdir -p "$T/src/dir3"
ln "$T/src/big/weights.bin" "$T/src/dir3/shard-1.bin"
echo '{"shards": 1}' >"$T/src/dir3/config.json"
bundle_of "$T/b3.exb" 3 "{type: model, name: dirmodel, version: '1', source: ./src/dir3}"
before=$(snapshot)
expect_rc 1 env EXAI_FAULT=flush:1:fail exai-update --config "$T/update.yaml" apply "$T/b3.exb"
expect_contains "$T/err" "shard-1.bin: fdatasync"
same_state "$before" "a failed background flush in a tar component"
ok "a failed background fdatasync inside a tar component fails the apply and changes nothing"

expect_rc 0 U apply "$T/b3.exb"
shard="$T/inst/models/dirmodel/current/shard-1.bin"
if [ "$(stat -f -c %T "$T")" != tmpfs ]; then
	res=$(fincore --bytes --noheadings --output RES "$(readlink -f "$shard")" | tr -d ' ')
	[ "$res" -le $((96 << 20)) ] || fail "extracted shard still has $res bytes in the page cache"
	ok "a 200 MiB file of a tar component is not left in the page cache ($res bytes resident)"
fi
cmp -s "$shard" "$T/src/big/weights.bin" || fail "extracted shard differs from its source"
ok "a 200 MiB file inside a tar component installs byte for byte"
