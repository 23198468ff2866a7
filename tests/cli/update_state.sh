# The state fails closed: only `exai-update init` creates the state database and the ratchet
# record; a missing, emptied, truncated, random, unprovisioned or older database, or a
# missing or edited ratchet record, is refused by every command (exit 2, a message naming the
# file), and an old, validly signed bundle never applies because the history was lost.
# Directories trusted by path (state, install, slots) are refused when someone other than
# root could change them.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "hooks: {health_check: [/bin/true]}"
[ -f "$T/state/state.db" ] && [ -f "$T/state/ratchets" ] || fail "init made no state"
grep -q '^exai-update-ratchets 1$' "$T/state/ratchets" || fail "ratchet record format"

expect_rc 1 U init
expect_contains "$T/err" "$T/state/state.db already exists: this appliance is provisioned"
ok "init twice is refused (exit 1)"

bundle "$T/b1" 1 1 1 $((NOW - 100))
bundle "$T/b2" 2 2 2 "$NOW"
expect_rc 0 U apply "$T/b1"
cp -a "$T/state" "$T/state.after1"
expect_rc 0 U apply "$T/b2"
assert_app 2
grep -q '^channel stable 2$' "$T/state/ratchets" || fail "ratchet record not raised: $(cat "$T/state/ratchets")"
grep -q "^created $NOW\$" "$T/state/ratchets" || fail "created not in the record"
cp -a "$T/state" "$T/state.good"
inst() { (cd "$T/inst" && find . -printf '%p %y %l\n' | LC_ALL=C sort); }
INST=$(inst)

# damaged NAME TEXT: every command refuses (exit 2) naming TEXT; b1 (validly signed, older
# than the ratchets) does not apply; nothing under inst changes. Then the good state returns.
damaged() {
	for cmd in "apply $T/b1" "verify $T/b1" status history rollback recover; do
		# shellcheck disable=SC2086
		expect_rc 2 U $cmd
		expect_contains "$T/err" "$2"
	done
	[ "$(inst)" = "$INST" ] || fail "$1: the install tree changed"
	assert_app 2
	assert_model 2
	rm -rf "$T/state" && cp -a "$T/state.good" "$T/state"
	expect_rc 0 U status
	ok "refused by every command: $1"
}

rm "$T/state/state.db"
damaged "state.db removed" "$T/state/state.db is missing"
rm "$T/state/state.db"*
expect_rc 1 U init
expect_contains "$T/err" "$T/state/ratchets already exists"
[ ! -e "$T/state/state.db" ] || fail "init recreated a lost database"
rm -rf "$T/state" && cp -a "$T/state.good" "$T/state"
ok "init refuses to replace a lost database while its ratchet record remains"

rm -f "$T/state/state.db-wal" "$T/state/state.db-shm"
truncate -s 1 "$T/state/state.db"
damaged "state.db truncated to 1 byte" "state.db is 1 bytes, too short"
: >"$T/state/state.db"
damaged "state.db emptied" "state.db is 0 bytes"
head -c 65536 /dev/urandom >"$T/state/state.db"
damaged "state.db replaced by random bytes" "state.db is not an SQLite database"
rm -f "$T/state/state.db"*
sqlite3 "$T/state/state.db" "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
damaged "an empty, valid SQLite database" "was not provisioned by 'exai-update init'"
sqlite3 "$T/state/state.db" "DELETE FROM meta WHERE key = 'provisioned'"
damaged "the provisioning row deleted" "was not provisioned by 'exai-update init'"
sz=$(stat -c %s "$T/state/state.db")
sqlite3 "$T/state/state.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
rm -f "$T/state/state.db-wal" "$T/state/state.db-shm"
sz=$(stat -c %s "$T/state/state.db")
truncate -s $((sz / 2)) "$T/state/state.db"
damaged "state.db cut in half" "state.db is damaged"
rm -f "$T/state/state.db"*
cp "$T/state.after1/state.db" "$T/state/"
damaged "state.db replaced by an older copy of itself" \
	"the state db disagree (the ratchet record says newest signed time $NOW, the state db says $((NOW - 100)))"

rm "$T/state/ratchets"
damaged "ratchet record removed" "ratchet record $T/state/ratchets is missing"
sed -i 's/^channel stable 2$/channel stable 1/' "$T/state/ratchets"
damaged "ratchet record edited down" "checksum mismatch"
# the same edit with a checksum recomputed: the two records disagree
head -n -1 "$T/state/ratchets" | sed 's/^channel stable 2$/channel stable 1/' >"$T/r.body"
{ cat "$T/r.body"; echo "sha256 $(sha256sum <"$T/r.body" | cut -d' ' -f1)"; } >"$T/state/ratchets"
damaged "ratchet record edited down, checksum recomputed" \
	"the ratchet record says channel stable sequence 1, the state db says 2"
head -c 100 "$T/state.good/ratchets" >"$T/state/ratchets"
damaged "ratchet record truncated" "no 'sha256' line at the end"

rm -rf "$T/state"
expect_rc 2 U apply "$T/b1"
expect_contains "$T/err" "state dir $T/state is missing"
[ ! -e "$T/state" ] || fail "apply created a state dir"
rm -rf "$T/state" && cp -a "$T/state.good" "$T/state"
ok "without a state dir nothing is created and nothing applies"

# ---- directories trusted by path ----
if [ "$(id -u)" != 0 ]; then
	echo "ok - SKIP directory ownership tests (need root)"
	exit 0
fi
mkdir -p "$T/inst/policy" "$T/inst/files" "$T/inst/registry" "$T/inst/charts"
expect_rc 0 U status
chmod o+w "$T/inst/sw"
expect_rc 2 U status
expect_contains "$T/err" "refusing to run: install.software_dir $T/inst/sw is world-writable (mode 0757)"
expect_rc 2 U apply "$T/b2"
chmod o-w "$T/inst/sw"
chmod g+w "$T/inst/models"
expect_rc 2 U status
expect_contains "$T/err" "install.models_dir $T/inst/models is group-writable (mode 0775)"
chmod 1777 "$T/inst/models"
expect_rc 2 U status
expect_contains "$T/err" "the sticky bit is enough for a parent, not for a directory exai-update writes in"
chmod 0755 "$T/inst/models"
ok "a group- or world-writable install dir is refused, naming it (sticky or not)"

chown nobody "$T/state"
expect_rc 2 U status
expect_contains "$T/err" "refusing to run: state_dir $T/state is owned by uid $(id -u nobody), not root"
expect_rc 2 U init
chown root "$T/state"
chown nobody "$T/inst"
expect_rc 2 U status
expect_contains "$T/err" "install.software_dir $T/inst/sw: its parent $T/inst is owned by uid"
chown root "$T/inst"
ok "a state dir or parent owned by another user is refused, naming it"

chmod 0777 "$T/inst"
expect_rc 2 U status
expect_contains "$T/err" "its parent $T/inst is world-writable (mode 0777) without the sticky bit"
chmod 1777 "$T/inst"
expect_rc 0 U status
rmdir "$T/inst/charts"
expect_rc 2 U status
expect_contains "$T/err" "install.chart_dir $T/inst/charts: its parent $T/inst is world-writable (mode 1777)"
mkdir "$T/inst/charts"
chmod 0755 "$T/inst"
ok "a sticky world-writable parent is accepted; a dir still to be created in it is not"

mkdir -p "$T/real"
mv "$T/inst/sw" "$T/real/sw"
ln -s "$T/real/sw" "$T/inst/sw"
chmod 0777 "$T/real"
expect_rc 2 U status
expect_contains "$T/err" "its parent $T/real is world-writable"
chmod 0755 "$T/real"
expect_rc 0 U status
rm "$T/inst/sw" && mv "$T/real/sw" "$T/inst/sw"
ok "a configured path through a symlink is checked where it resolves to as well"

mkdir -p "$T/slots" "$T/boot"
truncate -s 64K "$T/slots/a.img" "$T/slots/b.img"
cp "$T/update.yaml" "$T/update.base"
echo "rootfs: {slot_a: $T/slots/a.img, slot_b: $T/slots/b.img, boot_selector: $T/boot/selector}" >>"$T/update.yaml"
expect_rc 0 U status
chmod o+w "$T/slots/b.img"
expect_rc 2 U status
expect_contains "$T/err" "rootfs.slot_b $T/slots/b.img is world-writable"
chmod o-w "$T/slots/b.img"
chmod g+w "$T/boot"
expect_rc 2 U status
expect_contains "$T/err" "rootfs.boot_selector $T/boot/selector: its parent $T/boot is group-writable"
chmod g-w "$T/boot"
cp "$T/update.base" "$T/update.yaml"
ok "rootfs slots and the boot selector's directory are checked too"
