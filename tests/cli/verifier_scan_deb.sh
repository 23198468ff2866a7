#!/bin/sh
# airgap-verifier scan reads a Debian package (.deb) as the files it installs: its control and
# data archives (xz, gzip, zstd or none) are walked as nested archives, and every finding is
# the one a scan of the unpacked package (dpkg-deb -R) gives, with the same rule and severity
# at the same path (locations read "foo.deb!data.tar.xz!usr/lib/foo/report.py"; control files
# "foo.deb!control.tar.xz!control", ranked as package metadata like DEBIAN/control). Other ar
# archives (static libraries) are not opened.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
V="$EXAI_BUILD/verifier/airgap-verifier"
command -v dpkg-deb >/dev/null || fail "dpkg-deb is needed"

P="$T/p"
mkdir -p "$P/DEBIAN" "$P/usr/lib/foo" "$P/usr/share/doc/foo"
printf 'Package: foo\nVersion: 1.0\nArchitecture: all\nMaintainer: A <a@foo-vendor.com>\nHomepage: https://www.foo-vendor.com/\nDescription: test\n' >"$P/DEBIAN/control"
printf 'import requests\nrequests.post("https://telemetry.foo-vendor.com/v1/collect", json=data)\n' >"$P/usr/lib/foo/report.py"
echo "See https://docs.foo-vendor.com/ for more." >"$P/usr/share/doc/foo/README"
printf '#!/bin/sh\ncurl -fsS https://get.foo-vendor.com/install.sh | sh\n' >"$P/DEBIAN/postinst"
chmod 755 "$P/DEBIAN/postinst"

# same_findings DEB DIR: (rule, severity, path inside the package) of both scans, as multisets.
same_findings() {
	"$V" scan "$1" --no-group --format json --output "$T/deb.json" --fail-on none
	"$V" scan "$2" --no-group --format json --output "$T/dir.json" --fail-on none
	python3 - "$T/deb.json" "$T/dir.json" "$2" <<'PY'
import collections, json, re, sys
deb, dirj, root = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/") + "/"
def in_deb(p):
    m = re.match(r".*?\.deb!(control|data)\.tar(?:\.[a-z0-9]+)?!(.*)$", p)
    if not m:
        sys.exit("finding outside the package's archives: %r" % p)
    return ("DEBIAN/" if m.group(1) == "control" else "") + m.group(2)
def in_dir(p):
    if not p.startswith(root):
        sys.exit("finding outside the unpacked tree: %r" % p)
    return p[len(root):]
a = collections.Counter((f["rule_id"], f["severity"], in_deb(f["path"])) for f in json.load(open(deb))["findings"])
b = collections.Counter((f["rule_id"], f["severity"], in_dir(f["path"])) for f in json.load(open(dirj))["findings"])
if a != b or not a:
    sys.exit("deb and unpacked differ: only deb %s, only unpacked %s" % (dict(a - b), dict(b - a)))
print(len(list(a.elements())))
PY
}

for z in xz gzip zstd none; do
	dpkg-deb --root-owner-group -Z"$z" --build "$P" "$T/foo-$z.deb" >/dev/null
	rm -rf "$T/u"
	dpkg-deb -R "$T/foo-$z.deb" "$T/u"
	n=$(same_findings "$T/foo-$z.deb" "$T/u")
	ok "foo.deb ($z): the same $n findings as the unpacked package"
done

"$V" scan "$T/foo-xz.deb" --no-group --format json --output "$T/r.json" --fail-on none
python3 - "$T/r.json" <<'PY' || fail "the findings of foo.deb are not where they should be"
import json, sys
fs = json.load(open(sys.argv[1]))["findings"]
def sev(path_end, rule):
    s = [f["severity"] for f in fs if f["path"].endswith(path_end) and f["rule_id"] == rule]
    if not s:
        sys.exit("no %s at ...%s: %s" % (rule, path_end, [(f["rule_id"], f["path"]) for f in fs]))
    return s[0]
assert sev("foo-xz.deb!data.tar.xz!usr/lib/foo/report.py", "net.url.public") in ("medium", "high")
assert sev("foo-xz.deb!control.tar.xz!control", "net.url.public") == "low"  # package metadata
assert sev("foo-xz.deb!data.tar.xz!usr/share/doc/foo/README", "net.url.public") == "low"
assert not [f for f in fs if f["rule_id"] == "scan.incomplete"], "a .deb is read whole"
PY
ok "a finding's location names the member and the file; control is package metadata, the README documentation"

# The gate: the live URL in code fails the default --fail-on medium, as in the unpacked tree.
expect_rc 1 "$V" scan "$T/foo-xz.deb"
ok "the default gate fails on foo.deb's live telemetry URL"

# A static library is an ar archive too, but not a package: it is not opened.
mkdir -p "$T/lib"
printf 'https://www.foo-vendor.com/\n' >"$T/lib/x.o"
(cd "$T/lib" && ar rc libx.a x.o)
"$V" scan "$T/lib/libx.a" --no-group --format json --output "$T/a.json" --fail-on none
python3 - "$T/a.json" <<'PY' || fail "a static library was read as an archive"
import json, sys
fs = json.load(open(sys.argv[1]))["findings"]
assert fs and all("!" not in f["path"] for f in fs), fs
PY
ok "an ar archive that is no Debian package is scanned as one file"
echo "verifier_scan_deb: ok"
