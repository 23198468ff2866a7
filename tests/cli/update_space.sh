# exai-update apply checks free space before staging: a component that does not fit the
# filesystem of its install directory (components on one filesystem summed), or a rootfs
# image larger than its block-device slot, is refused up front naming the directory, the
# bytes needed and the bytes free, with nothing written (real small tmpfs, real loop device).
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
[ "$(id -u)" = 0 ] || { echo "ok 1 - skipped: needs root (mount, losetup)"; exit 0; }
loopdev=
cleanup() {
	umount "$T/inst" 2>/dev/null || true
	[ -z "$loopdev" ] || losetup -d "$loopdev" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
setup_keys
mkdir -p "$T/inst"
# mode 0755: exai-update refuses install dirs that others may write into (1777, tmpfs default)
mount -t tmpfs -o size=20m,mode=0755 exai-space "$T/inst"
write_config
bundle "$T/b1" 1 1.0 1
expect_rc 0 U apply "$T/b1"
snapshot >"$T/snap.before"
stages() { find "$T/inst" -name '.stage*'; }

# A 30 MB model into a 20 MiB filesystem.
mkdir -p "$T/src/model-2"
head -c 30000000 /dev/urandom >"$T/src/model-2/big.bin"
bundle "$T/b2" 2 2.0 2
free_before=$(df -B1 --output=avail "$T/inst" | tail -1)
expect_rc 1 U apply "$T/b2"
expect_contains "$T/err" "not enough space: staging software/app 2.0 (into $T/inst/sw/app), model/llama 2 (into $T/inst/models/llama) needs "
expect_contains "$T/err" " on the filesystem of $T/inst/sw/app, which has "
expect_contains "$T/err" " free; nothing was written"
needed=$(sed -n 's/.* needs \([0-9]*\) bytes.*/\1/p' "$T/err")
free=$(sed -n 's/.*which has \([0-9]*\) bytes.*/\1/p' "$T/err")
[ "$needed" -gt 30000000 ] || fail "bytes needed: '$needed'"
[ "$free" -gt 0 ] && [ "$free" -le 20971520 ] || fail "bytes free: '$free'"
expect_not_contains "$T/err" "No space left on device"
[ -z "$(stages)" ] || fail "staging written: $(stages)"
[ "$(df -B1 --output=avail "$T/inst" | tail -1)" = "$free_before" ] || fail "space was used"
snapshot >"$T/snap.after"
diff "$T/snap.before" "$T/snap.after" >&2 || fail "installed state changed"
[ "$(U --json history --limit 1 | jq -r '.history[0].outcome')" = refused ] || fail "no history row"
ok "a model larger than its filesystem is refused up front: directory, bytes needed and free; nothing written"

# Two components that fit one by one but not together on the same filesystem.
rm -rf "$T/src/model-3" "$T/src/app-3.0"
mkdir -p "$T/src/model-3" "$T/src/app-3.0"
head -c 11000000 /dev/urandom >"$T/src/model-3/big.bin"
head -c 11000000 /dev/urandom >"$T/src/app-3.0/data.bin"
bundle "$T/b3" 3 3.0 3
expect_rc 1 U apply "$T/b3"
expect_contains "$T/err" "not enough space: staging software/app 3.0 (into $T/inst/sw/app), model/llama 3 (into $T/inst/models/llama) needs "
[ -z "$(stages)" ] || fail "staging written: $(stages)"
ok "components on one filesystem are summed"

# What fits is applied.
bundle "$T/b4" 4 4.0 4
expect_rc 0 U apply "$T/b4"
assert_app 4.0
ok "a bundle that fits applies"

# The disk fills up after the check (another writer): the write error still undoes cleanly.
mkdir -p "$T/src/model-5"
head -c 8000000 /dev/urandom >"$T/src/model-5/big.bin"
bundle "$T/b5" 5 5.0 5
snapshot >"$T/snap.before"
EXAI_FAULT=stage.data:2:stop exai-update --config "$T/update.yaml" apply "$T/b5" \
	>"$T/aout" 2>"$T/aerr" &
pid=$!
i=0
until [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = T ]; do
	i=$((i + 1))
	[ $i -lt 400 ] || { kill -KILL "$pid"; fail "apply never stopped"; }
	sleep 0.05
done
dd if=/dev/zero of="$T/inst/filler" bs=1M 2>/dev/null || true
kill -CONT "$pid"
set +e
wait "$pid"
rc=$?
set -e
rm -f "$T/inst/filler"
[ "$rc" = 1 ] || { cat "$T/aerr" >&2; fail "ENOSPC mid-write: exit $rc"; }
expect_contains "$T/aerr" "No space left on device"
[ -z "$(stages)" ] || fail "staging left after ENOSPC: $(stages)"
snapshot >"$T/snap.after"
diff "$T/snap.before" "$T/snap.after" >&2 || fail "ENOSPC mid-write changed installed state"
ok "a disk that fills after the check: the write fails, staging removed, nothing changes"

# A rootfs image larger than its block-device slot (a 1 MiB loop device).
if truncate -s 1M "$T/slot-b.img" && loopdev=$(losetup -f --show "$T/slot-b.img" 2>/dev/null); then
	mkdir -p "$T/slots" "$T/boot"
	truncate -s 4M "$T/slots/a.img"
	rm -rf "$T/state"
	write_config "rootfs: {slot_a: $T/slots/a.img, slot_b: $loopdev, boot_selector: $T/boot/selector}"
	printf 'A\n' >"$T/boot/selector"
	head -c 2000000 /dev/urandom >"$T/os.img"
	cat >"$T/spec-os.yaml" <<EOS
channel: os
sequence: 1
expires_in_days: 30
target: {sites: [site-1]}
components:
  - {type: rootfs, name: os, version: 'v1', source: ./os.img}
EOS
	(cd "$T" && exai-bundle create spec-os.yaml --out os.exb --recipient site.pub >/dev/null &&
		exai-bundle sign os.exb --key rel1.key >/dev/null)
	dd if=/dev/zero of="$loopdev" bs=1M count=1 2>/dev/null
	expect_rc 1 U apply "$T/os.exb"
	expect_contains "$T/err" "rootfs slot $loopdev holds 1048576 bytes; rootfs/os v1 needs 2000000: nothing was written"
	[ "$(head -c 1048576 "$loopdev" | tr -d '\0' | wc -c)" = 0 ] || fail "the slot was written"
	ok "a rootfs image larger than its block-device slot is refused before writing"
else
	echo "ok - (no loop device here: rootfs slot size not tested)"
fi

# Not root: status says permission denied and what to do (not SQLite's "unable to open
# database file", nor "damaged" for a database it can read but not write).
chmod 755 "$T"
chmod 644 "$T/update.yaml"
expect_rc 2 runuser -u nobody -- exai-update --config "$T/update.yaml" status
expect_contains "$T/err" "exai-update status: state: $T/state/state.db: permission denied: the state of exai-update belongs to root (state_dir is 0700, its files 0600) and this is uid 65534: run exai-update as root (e.g. with sudo)"
chmod 755 "$T/state"
chmod 644 "$T/state/state.db"
expect_rc 2 runuser -u nobody -- exai-update --config "$T/update.yaml" --json status
[ "$(jq -r .error.message "$T/out")" != null ] || fail "no JSON error"
expect_contains "$T/out" "permission denied"
expect_not_contains "$T/out" "damaged"
expect_rc 2 runuser -u nobody -- exai-update --config "$T/update.yaml" recover
expect_contains "$T/err" "$T/state/lock: permission denied"
chmod 700 "$T/state"
chmod 600 "$T/state/state.db"
ok "status and recover as non-root: permission denied, run as root (exit 2)"

# A site key that others may read is refused (ssh's rule for private keys).
chmod 644 "$T/site.key"
expect_rc 2 U verify "$T/b4"
expect_contains "$T/err" "$T/site.key: secret key file is accessible by others (mode 0644): a secret key must be readable by its owner only; run 'chmod 600 $T/site.key'"
chmod 600 "$T/site.key"
expect_rc 0 U verify "$T/b4"
ok "a world-readable site key is refused until chmod 600"
