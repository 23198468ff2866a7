# rootfs: written to the inactive raw slot (image files here), read back and hash-checked,
# then the boot selector file is switched atomically. A slot that does not read back what
# was written fails the apply with the selector untouched; rollback switches the selector
# back; an image larger than the slot is refused before anything is written.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
mkdir -p "$T/slots" "$T/boot"
truncate -s 256K "$T/slots/a.img" "$T/slots/b.img"
write_config "rootfs: {slot_a: $T/slots/a.img, slot_b: $T/slots/b.img, boot_selector: $T/boot/selector}" \
	"hooks: {health_check: [/bin/true]}"

# rb SEQ SIZE: a bundle holding only a rootfs image of SIZE random bytes (of format
# $BUNDLE_FORMAT if set: in format 2 the read-back is checked against the SHA-256 the stager
# took while writing, since the manifest's digest is a tree).
rb() {
	head -c "$2" /dev/urandom >"$T/os-$1.img"
	cat >"$T/spec-os$1.yaml" <<EOS
channel: os
sequence: $1
expires_in_days: 30
target: {sites: [site-1]}
components:
  - {type: rootfs, name: os, version: 'v$1', source: ./os-$1.img}
EOS
	(cd "$T" && exai-bundle create "spec-os$1.yaml" --out "os$1.exb" --recipient site.pub \
		${BUNDLE_FORMAT:+--format-version "$BUNDLE_FORMAT"} >/dev/null &&
		exai-bundle sign "os$1.exb" --key rel1.key >/dev/null)
}
same() { cmp -s -n "$(stat -c %s "$1")" "$1" "$2"; }

rb 1 100000
expect_rc 0 U apply "$T/os1.exb"
[ "$(cat "$T/boot/selector")" = B ] || fail "selector not B"
same "$T/os-1.img" "$T/slots/b.img" || fail "slot B does not hold image 1"
[ "$(U --json status | jq -r .rootfs_active_slot)" = B ] || fail "status slot"
ok "first rootfs goes to the inactive slot B and the selector switches to B"

BUNDLE_FORMAT=2 rb 2 120000
expect_rc 0 U apply "$T/os2.exb"
[ "$(cat "$T/boot/selector")" = A ] || fail "selector not A"
same "$T/os-2.img" "$T/slots/a.img" || fail "slot A does not hold image 2"
same "$T/os-1.img" "$T/slots/b.img" || fail "slot B was touched"
[ "$(U --json status | jq -r '.components[0].previous.location')" = B ] || fail "previous slot"
ok "second rootfs (format 2) goes to slot A; slot B keeps the previous one"

expect_rc 0 U rollback
[ "$(cat "$T/boot/selector")" = B ] || fail "rollback did not switch the selector"
ok "rollback switches the boot selector back"

BUNDLE_FORMAT=2 rb 3 90000
expect_rc 1 env EXAI_FAULT=stage.readback:1:fail exai-update --config "$T/update.yaml" apply "$T/os3.exb"
expect_contains "$T/err" "read-back hash mismatch"
[ "$(cat "$T/boot/selector")" = B ] || fail "selector moved after a failed read-back"
[ "$(U --json status | jq -r '.components[0].current.version')" = v1 ] || fail "status changed"
[ "$(U --json status | jq -r '.components[0].previous')" = null ] ||
	fail "a partly overwritten slot is still offered for rollback"
ok "read-back mismatch (format 2): apply fails, selector untouched, the overwritten slot is no rollback target"

expect_rc 0 U apply "$T/os3.exb"
[ "$(cat "$T/boot/selector")" = A ] || fail "retry"
ok "the same bundle applies when the slot reads back correctly"

rb 4 300000
expect_rc 1 U apply "$T/os4.exb"
expect_contains "$T/err" "do not fit slot B"
ok "an image larger than the slot is refused before writing"

# The slots are configured by udev symlink (/dev/disk/by-partlabel/...): the path is resolved
# once and the resolved file must be a block device or an image file. The selector is A now,
# so the next image goes to slot B.
mkdir -p "$T/dev/disk/by-partlabel" "$T/slotdir"
mkfifo "$T/slots/fifo"
ln -s ../../../slots/a.img "$T/dev/disk/by-partlabel/exai-root-a"
ln -s ../../../slots/b.img "$T/dev/disk/by-partlabel/exai-root-b"
slots() {
	write_config "rootfs: {slot_a: $1, slot_b: $2, boot_selector: $T/boot/selector}" \
		"hooks: {health_check: [/bin/true]}"
}
slots "$T/dev/disk/by-partlabel/exai-root-a" "$T/dev/disk/by-partlabel/exai-root-b"
rb 5 110000
expect_rc 0 U apply "$T/os5.exb"
[ "$(cat "$T/boot/selector")" = B ] || fail "selector not B after the symlinked slot"
same "$T/os-5.img" "$T/slots/b.img" || fail "slot B (through its symlink) does not hold image 5"
[ -L "$T/dev/disk/by-partlabel/exai-root-b" ] || fail "the slot symlink was replaced"
ok "a slot configured as a by-partlabel symlink is written through the link"

ln -sfn ../../../slots/fifo "$T/dev/disk/by-partlabel/exai-root-a"
rb 6 100000
# The directory-trust check at start refuses it (exit 2, a configuration error) before
# stage.c's own check of the opened file, which stays as the second line.
expect_rc 2 timeout 10 exai-update --config "$T/update.yaml" apply "$T/os6.exb"
expect_contains "$T/err" "rootfs.slot_a $T/dev/disk/by-partlabel/exai-root-a is neither a block device nor a regular file"
[ "$(cat "$T/boot/selector")" = B ] || fail "selector moved after a FIFO slot"
ok "a slot symlink to a FIFO is refused, without hanging"

ln -sfn ../../../slotdir "$T/dev/disk/by-partlabel/exai-root-a"
expect_rc 2 timeout 10 exai-update --config "$T/update.yaml" apply "$T/os6.exb"
expect_contains "$T/err" "exai-root-a is neither a block device nor a regular file"
[ "$(cat "$T/boot/selector")" = B ] || fail "selector moved after a directory slot"
ok "a slot symlink to a directory is refused"

ln -sfn ../../../slots/a.img "$T/dev/disk/by-partlabel/exai-root-a"
expect_rc 0 U apply "$T/os6.exb"
[ "$(cat "$T/boot/selector")" = A ] || fail "selector not A after the slot was fixed"
same "$T/os-6.img" "$T/slots/a.img" || fail "slot A does not hold image 6"
ok "once the link points at the slot again the same bundle applies"
