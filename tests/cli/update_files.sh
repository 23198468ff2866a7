# exai-update's per-file records (state db schema 2, table installed_file): after apply, an
# upgrade, rollback, recover of an interrupted apply, a health-check revert and model GC, the
# records of every installed tree are exactly what is on disk (paths, kinds, modes, sizes,
# SHA-256, symlink targets; hard links as the file they share); a schema-1 database is
# migrated; a newer schema is refused.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
cat >"$T/health.sh" <<EOS
#!/bin/sh
[ ! -f "$T/unhealthy" ] || { echo "told to fail"; exit 1; }
EOS
chmod +x "$T/health.sh"
write_config "hooks: {health_check: [$T/health.sh], user: root}"

# richer source trees than update_lib's: a 0750 dir, a setgid-free 0600 file, a hard link,
# an empty file, a nested symlink; and a raw (single-file) model.
src_extra() {
	d="$T/src/app-$1"
	mkdir -p "$d/etc/private" "$d/share/doc"
	chmod 750 "$d/etc/private"
	echo "secret $1" >"$d/etc/private/key"
	chmod 600 "$d/etc/private/key"
	: >"$d/share/doc/EMPTY"
	echo "doc $1" >"$d/share/doc/README"
	ln -f "$d/share/doc/README" "$d/share/doc/README.hard"
	ln -sf ../../bin/run "$d/share/doc/run-link"
	head -c 70000 /dev/urandom >"$T/src/raw-$1.bin"
}
# fbundle OUT SEQ VER [CREATED]
fbundle() {
	src_extra "$3"
	bundle "$1" "$2" "$3" "$3" "${4:-$NOW}" \
		"  - {type: model, name: raw, version: '$3', source: ./src/raw-$3.bin}"
}

fbundle "$T/b1" 1 1
expect_rc 0 U apply "$T/b1"
assert_records
n=$(db_records software app | wc -l)
[ "$n" -ge 12 ] || fail "only $n records for software/app"
expect_contains "$T/rec.list" "model raw 1"
db_records software app >"$T/r"
expect_contains "$T/r" "etc/private|dir|750|0|-|-"
expect_contains "$T/r" "etc/private/key|file|600|"
expect_contains "$T/r" "lib/libapp.so|link|0|11|-|libapp.so.1"
expect_contains "$T/r" "share/doc/EMPTY|file|644|0|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855|-"
h=$(sha256sum <"$T/src/app-1/share/doc/README" | cut -d' ' -f1)
expect_contains "$T/r" "share/doc/README.hard|file|644|6|$h|-"
expect_contains "$T/r" ".|dir|755|0|-|-"
raw=$(sha256sum <"$T/src/raw-1.bin" | cut -d' ' -f1)
[ "$(db_records model raw | grep -v '^\.|')" = "raw-1.bin|file|644|70000|$raw|-" ] ||
	fail "raw model record: $(db_records model raw)"
[ "$(sqlite3 "$T/state/state.db" "SELECT value FROM meta WHERE key = 'schema'")" = 2 ] ||
	fail "schema version not 2"
ok "apply records every file, dir, symlink and hard link of each tree; a raw model by its component hash"

fbundle "$T/b2" 2 2
expect_rc 0 U apply "$T/b2"
assert_records
[ "$(sqlite3 "$T/state/state.db" "SELECT count(DISTINCT loc) FROM installed_file WHERE type = 'software'")" = 2 ] ||
	fail "both slots should have records"
ok "upgrade: slot b recorded, slot a (previous) keeps its records"

expect_rc 0 U rollback
assert_app 1
assert_records
ok "rollback: the active slot's records match it"

fbundle "$T/b3" 3 3
EXAI_FAULT="switch.link:1:crash" U apply "$T/b3" >/dev/null 2>&1 && fail "no injected crash"
expect_rc 0 U recover
expect_contains "$T/out" "completed"
assert_app 3
assert_records
ok "recover of an apply killed mid-switch: records match the trees it finished"

fbundle "$T/b4" 4 4
# commit 1 journals "staging", commit 2 is the commit point carrying the records: dying
# right before it leaves the old trees and their records, untouched.
EXAI_FAULT="db.commit:2:crash" U apply "$T/b4" >/dev/null 2>&1 && fail "no injected crash"
expect_rc 0 U recover
expect_contains "$T/out" "undone"
assert_app 3
assert_records
[ -z "$(sqlite3 "$T/state/state.db" "SELECT 1 FROM installed_file WHERE type = 'model' AND loc = '4'")" ] ||
	fail "records of a version that was never switched in"
expect_rc 0 U apply "$T/b4"
assert_app 4
assert_records
ok "a crash right before the commit point: wholly old, records included; the re-apply records"

fbundle "$T/b5" 5 5
touch "$T/unhealthy"
expect_rc 3 U apply "$T/b5"
rm "$T/unhealthy"
assert_app 4
assert_records
[ -z "$(sqlite3 "$T/state/state.db" "SELECT 1 FROM installed_file WHERE type = 'model' AND loc = '5'")" ] ||
	fail "records of a reverted (removed) model version remain"
ok "health-check revert: the removed model version loses its records, active trees match"

fbundle "$T/b6" 6 6
expect_rc 0 U apply "$T/b6"
assert_records
locs=$(sqlite3 "$T/state/state.db" "SELECT DISTINCT loc FROM installed_file WHERE type = 'model' AND name = 'llama' ORDER BY loc" | tr '\n' ' ')
disk=$(cd "$T/inst/models/llama" && ls -d [0-9]* | sort | tr '\n' ' ')
[ "$locs" = "$disk" ] || fail "model GC: records for '$locs', on disk '$disk'"
ok "model GC removes the records of the versions it deletes ($disk)"

# Migration: make it a schema-1 database again (no installed_file), then any command migrates.
sqlite3 "$T/state/state.db" "DROP TABLE installed_file; UPDATE meta SET value = '1' WHERE key = 'schema'"
expect_rc 0 U status
[ "$(sqlite3 "$T/state/state.db" "SELECT value FROM meta WHERE key = 'schema'")" = 2 ] ||
	fail "not migrated to schema 2"
[ "$(sqlite3 "$T/state/state.db" "SELECT count(*) FROM installed_file")" = 0 ] ||
	fail "migration invented records"
expect_contains "$T/out" "app"
fbundle "$T/b7" 7 7
expect_rc 0 U apply "$T/b7"
assert_app 7
db_records software app | grep -q 'bin/run|file|755|' || fail "no records after migration + apply"
ok "a schema-1 state db is migrated; the next apply records its trees"

sqlite3 "$T/state/state.db" "UPDATE meta SET value = '99' WHERE key = 'schema'"
expect_rc 1 U status
expect_contains "$T/err" "schema version 99 is newer than this exai-update (2)"
ok "a newer schema is refused"
