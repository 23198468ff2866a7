# exai-bundle (verify, inspect) and exai-update (verify, apply) name a directory that is not a
# bundle, and a file that is not a tar (or a tar that is not a bundle), as "not an exai
# bundle", saying briefly why, never libarchive's "Unrecognized archive format" or the
# first unknown file of the directory. Nothing is installed.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
B="$EXAI_BUILD/bundler/exai-bundle"

setup_keys
write_config
cd "$T"
mkdir -p srcdir/app && printf 'weights\n' >srcdir/model.bin && printf 'x\n' >srcdir/app/run
printf 'hello, not a bundle\n' >notes.txt
: >empty.exb
tar -cf other.tar -C srcdir model.bin
tar -cf emptytar.tar --files-from /dev/null

# check NAME WHY: every front end says "NAME: not an exai bundle (WHY", exit 1.
check() {
	for cmd in "verify $1 --root root.v1" "inspect $1"; do
		expect_rc 1 "$B" $cmd
		expect_contains "$T/err" "$1: not an exai bundle ($2"
		expect_not_contains "$T/err" "Unrecognized archive format"
		expect_not_contains "$T/err" "' is not part of the format"
	done
	expect_rc 1 U verify "$1"
	expect_contains "$T/err" "$1: not an exai bundle ($2"
	expect_rc 1 U apply "$1"
	expect_contains "$T/err" "$1: not an exai bundle ($2"
	[ ! -e "$T/inst/sw" ] || fail "$1: apply installed something"
}
check notes.txt "not a tar archive; an .exb file is a tar that starts with its index)"
check empty.exb "an empty file)"
check other.tar "a tar archive whose first entry, 'model.bin', is not part of the format; an .exb starts with its index)"
check emptytar.tar "an empty tar archive)"
ok "a text file, an empty file, a tar of something else and an empty tar: 'not an exai bundle' and why"

# A directory: exai-bundle says it has no index; exai-update (which also takes a directory of
# bundles) says it is not a bundle and holds none.
for cmd in "verify srcdir --root root.v1" "inspect srcdir"; do
	expect_rc 1 "$B" $cmd
	expect_contains "$T/err" "srcdir: not an exai bundle (a bundle directory holds an 'index' file; this directory has none)"
	expect_not_contains "$T/err" "model.bin"
done
for op in verify apply; do
	expect_rc 1 U $op srcdir
	expect_contains "$T/err" "srcdir: not an exai bundle, and it holds none (no .exb file and no bundle directory in it)"
done
[ ! -e "$T/inst/sw" ] || fail "apply of a source directory installed something"
ok "a directory that is not a bundle: 'not an exai bundle' from both tools, not its first file"
