# airgap-verifier scan looks into zip and 7z archives (files, and entries of other archives,
# with the enclosing archive's budget), reads sparse tar entries as their data only (holes
# are never expanded: a 2 GiB sparse file under a 1 MiB max_entry_size is scanned), and keeps
# its depth and size bounds, refusing (scan.incomplete) when one is reached.
. "$EXAI_SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
MK="$EXAI_BUILD/tests/vf_mkarchive"
cd "$T"

# findings FILE.json -> "rule path" per line, sorted
findings() {
	$PY - "$1" <<'PY'
import json, sys
for f in sorted(json.load(open(sys.argv[1]))["findings"], key=lambda f: (f["path"], f["rule_id"])):
    print(f["rule_id"], f["path"])
PY
}

mkdir src t
echo 'ENDPOINT = "https://collector.vendor-zip.zz/v1"' >src/app.py
echo 'ENDPOINT = "https://collector.vendor-7z.zz/v1"' >src/app7.py
head -c 20000 /dev/urandom | base64 >src/filler.txt  # makes deflate/LZMA do real work
(cd src && zip -q -9 ../t/app.zip app.py filler.txt)
"$MK" 7zip t/app.7z app7.py=src/app7.py filler.txt=src/filler.txt
tar -cf t/outer.tar -C t app.zip
(cd src && zip -q -P secret ../t/locked.zip app.py)
expect_rc 1 airgap-verifier scan t/app.zip t/app.7z t/outer.tar t/locked.zip --format json --output a.json
findings a.json >got.txt
cat >want.txt <<'W'
net.url.public t/app.7z!app7.py
net.url.public t/app.zip!app.py
scan.incomplete t/locked.zip!app.py
net.url.public t/outer.tar!app.zip!app.py
W
diff -u want.txt got.txt || fail "zip / 7z"
grep -q '"evidence": "https://collector.vendor-7z.zz/v1"' a.json || fail "7z evidence"
grep -q 'entry not read: ' a.json || fail "encrypted zip entry message"
ok "deflated zip, LZMA 7z and a zip inside a tar are scanned; an encrypted entry is scan.incomplete"

# --- sparse: 2 GiB logical, 4 KiB of data in the middle
mkdir sp
truncate -s 2G sp/disk.img
printf 'url = "https://telemetry.vendor-sparse.zz/ingest"\n' |
	dd of=sp/disk.img bs=1 seek=1073741824 conv=notrunc status=none
tar -S -cf sparse.tar -C sp disk.img
[ "$(stat -c %s sparse.tar)" -lt 1048576 ] || fail "tar -S did not make a sparse archive"
printf 'version: 1\nsettings:\n  max_entry_size: 1048576\n  max_archive_bytes: 16777216\n' >small.yaml
expect_rc 1 timeout 60 airgap-verifier scan sparse.tar --rules small.yaml --format json --output s.json
[ "$(findings s.json)" = "net.url.public sparse.tar!disk.img" ] || { findings s.json; fail "sparse"; }
ok "a sparse tar entry is scanned as its data blocks: its 2 GiB of holes are never expanded"

# --- bounds stay: depth, entry size, entry count
cp t/app.zip z1.zip
"$MK" zip z2.zip z1.zip=z1.zip
"$MK" zip z3.zip z2.zip=z2.zip
printf 'version: 1\nsettings:\n  max_archive_depth: 2\n' >depth.yaml
expect_rc 1 airgap-verifier scan z3.zip --rules depth.yaml --format json --output d.json
[ "$(findings d.json)" = "scan.incomplete z3.zip!z2.zip!z1.zip" ] || { findings d.json; fail "depth"; }
grep -q 'nested deeper than max_archive_depth' d.json || fail "depth message"
printf 'version: 1\nsettings:\n  max_entry_size: 4096\n' >entry.yaml
expect_rc 1 airgap-verifier scan t/app.zip --rules entry.yaml --format json --output e.json
[ "$(findings e.json)" = "net.url.public t/app.zip!app.py
scan.incomplete t/app.zip!filler.txt" ] || { findings e.json; fail "max_entry_size"; }
printf 'version: 1\nsettings:\n  max_archive_entries: 1\n' >count.yaml
expect_rc 1 airgap-verifier scan t/app.7z --rules count.yaml --format json --output c.json
grep -q 'over max_archive_bytes or max_archive_entries' c.json || fail "entry cap"
ok "max_archive_depth, max_entry_size and max_archive_entries still refuse inside zip and 7z"
echo "1..$tests_run"
