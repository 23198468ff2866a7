# Schema 1 to 2 (docs/mirror.md, storage): a store written by the schema 1 exai-mirror
# (tests/fixtures/mirror_v1, made by its make_v1.sh with that build: 300 entries, checkpoints
# 13, 20, 37, 137, 300) is refused by the read-only commands, migrated by serve in one
# transaction, then verifies, and its proofs are byte for byte the ones the schema 1 build
# wrote. A schema 1 store whose level-0 nodes disagree with its entries is refused unchanged.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
FIX="$EXAI_SRC/tests/fixtures/mirror_v1"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }

fresh_v1() {
	rm -rf "$T/mstate"
	mkdir -p "$T/mstate"
	cp "$FIX/mirror.db" "$FIX/checkpoint" "$T/mstate/"
	cp "$FIX/log.key" "$FIX/log.vkey" "$T/"
	chmod 600 "$T/log.key"
}
mirror_config
fresh_v1

expect_rc 1 M verify
expect_contains "$T/err" "schema version 1; start exai-mirror serve once on it to migrate it to 2"
expect_rc 1 M prove --index 3 --size 13
expect_contains "$T/err" "schema version 1"
ok "the read-only commands refuse a schema 1 store and name the migration"

# A schema 1 store with a changed level-0 node: the only witness would be deleted. Refused,
# and its contents are not changed (only SQLite's header change counter moves, as on any open).
sqlite3 "$DB" "UPDATE nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 42"
before=$(sqlite3 "$DB" .dump | sha256sum)
expect_rc 1 timeout 20 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "entry 42: its leaf is not the one in the tree; not migrated"
[ "$(sqlite3 "$DB" .dump | sha256sum)" = "$before" ] || fail "the refused store was changed"
[ "$(q "SELECT value FROM meta WHERE key = 'schema'")" = 1 ] || fail "schema changed"
ok "serve refuses to migrate a schema 1 store whose tree disagrees with its entries"

fresh_v1
mirror_start
mirror_stop
expect_contains "$T/serve.err" "migrating schema 1 (300 entries) to 2"
[ "$(q "SELECT value FROM meta WHERE key = 'schema'") $(q "SELECT value FROM meta WHERE key = 'size'")" = "2 300" ] ||
	fail "meta after the migration: $(q 'SELECT * FROM meta')"
# 300 leaves: 18 nodes at level 4, 1 at level 8 (596 rows before).
[ "$(q 'SELECT count(*) FROM nodes')" = 19 ] || fail "nodes: $(q 'SELECT count(*) FROM nodes')"
[ "$(q 'SELECT count(*) FROM nodes WHERE level = 0 OR level % 4 != 0')" = 0 ] || fail "levels"
expect_rc 0 M verify
expect_contains "$T/out" "verify: ok: 300 entries (0 pruned), 5 checkpoints, the last of size 300"
ok "serve migrates a schema 1 store of 300 entries (596 node rows to 19) and verify passes"

for f in "$FIX"/proofs/*.txt; do
	b=$(basename "$f" .txt)
	kind=${b%%_*}
	rest=${b#*_}
	a=${rest%%_*}
	s=${rest#*_}
	if [ "$kind" = inc ]; then
		M prove --index "$a" --size "$s" >"$T/p" || fail "prove --index $a --size $s"
	else
		M prove --from "$a" --to "$s" >"$T/p" || fail "prove --from $a --to $s"
	fi
	cmp -s "$T/p" "$f" || { diff "$f" "$T/p" >&2 || true; fail "$b differs from the schema 1 build's"; }
done
ok "26 inclusion and consistency proofs are byte for byte the schema 1 build's"

# The migrated log goes on: new entries, the next checkpoint consistent with the last.
mirror_start
python3 -c "
for i in range(40): print('{\"class\":\"audit\",\"body\":\"m%d\"}' % i)" >"$T/more"
send "$T/more"
sleep 1.5
mirror_stop
expect_rc 0 M verify
expect_contains "$T/out" "verify: ok: 340 entries"
M prove --from 300 --to 340 >"$T/p" || fail "prove --from 300 --to 340"
/usr/bin/python3 "$EXAI_SRC/tests/cli/mirror_check.py" consistency "$T/p" "$T/log.vkey" >/dev/null ||
	fail "consistency 300 to 340"
/usr/bin/python3 "$EXAI_SRC/tests/cli/mirror_check.py" db "$DB" "$T/log.vkey" >/dev/null ||
	fail "independent check of the migrated store"
ok "the migrated log extends consistently (300 to 340) and the independent checker agrees"

# A node row of schema 2 missing, one no root or edge reads (under node (8, 0)): verify names
# it, serve refuses to start on the store all the same. Then one that the root needs.
cp "$DB" "$T/good.db"
sqlite3 "$DB" "DELETE FROM nodes WHERE level = 4 AND idx = 3"
expect_rc 1 M verify
expect_contains "$T/out" "the tree has 21 nodes, 340 entries need 22 (nodes removed)"
expect_rc 1 timeout 20 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "21 tree node rows, 340 entries need 22; refusing to run on it"
cp "$T/good.db" "$DB"
sqlite3 "$DB" "UPDATE nodes SET idx = 99 WHERE level = 4 AND idx = 20"
expect_rc 1 timeout 20 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "tree node (level 4, index 20) is missing: the store is damaged"
ok "a missing node row: verify names it and serve refuses to start"
