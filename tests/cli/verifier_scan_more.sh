# airgap-verifier scan: output formats (parsed), the allow file (suppressions, expiry, hosts),
# archives (OCI layout and docker-save with nested layers, caps), ELF imports, Helm charts.
. "$EXAI_SRC/tests/cli/lib.sh"
FX="$EXAI_SRC/tests/fixtures/verifier/scan"
PY=/usr/bin/python3
cd "$T"
cp -r "$FX/dirty" "$FX/chart" .

# findings FILE.json -> "rule path:line:col" (or "rule path@offset") per line
findings() {
	$PY - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    loc = "%s:%d:%d" % (f["path"], f["line"], f["column"]) if f["line"] else "%s@%d" % (f["path"], f["offset"])
    print(f["rule_id"], loc, "suppressed" if f["suppressed"] else "")
PY
}

# --- formats
expect_rc 1 airgap-verifier scan dirty --format sarif --output out.sarif
$PY - out.sarif <<'PY'
import json, os, sys, urllib.parse
d = json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0", d["version"]
assert "sarif-schema-2.1.0" in d["$schema"]
run = d["runs"][0]
drv = run["tool"]["driver"]
assert drv["name"] == "airgap-verifier"
ids = [r["id"] for r in drv["rules"]]
assert len(ids) == len(set(ids)) and "net.url.public" in ids and "scan.incomplete" in ids
assert len(run["results"]) == 37, len(run["results"])
for r in run["results"]:
    assert ids[r["ruleIndex"]] == r["ruleId"]
    assert r["level"] in ("error", "warning", "note")
    assert r["message"]["text"]
    loc = r["locations"][0]["physicalLocation"]
    art = loc["artifactLocation"]
    # a relative reference against SCANROOT: no scheme, no authority, no ".." segment
    u = urllib.parse.urlsplit(art["uri"])
    assert not u.scheme and not u.netloc and not art["uri"].startswith("/"), art
    assert ".." not in art["uri"].split("/") and art["uriBaseId"] == "SCANROOT", art
    assert art["uri"].startswith("dirty/"), art
    reg = loc["region"]
    assert reg.get("startLine", 0) >= 1 or "byteOffset" in reg
base = run["originalUriBaseIds"]["SCANROOT"]["uri"]
assert base == "file://" + urllib.parse.quote(os.getcwd()) + "/", base
u = [r for r in run["results"] if r["ruleId"] == "net.url.public"][0]
reg = u["locations"][0]["physicalLocation"]["region"]
assert (reg["startLine"], reg["startColumn"]) == (11, 8), reg
assert u["level"] == "warning"
PY
ok "SARIF 2.1.0 has the required properties"

# paths outside the working directory, absolute ones, odd characters: still relative
# references (against FSROOT when not under SCANROOT), percent-encoded, no "..", no scheme
mkdir -p "odd/a b" sub
echo 'u = "https://api.vendor-odd.zz/v1"' >"odd/a b/x:y%z#1.py"
(cd sub && expect_rc 1 airgap-verifier scan ../odd "$T/odd" --no-group --format sarif --output ../odd.sarif)
$PY - odd.sarif "$T" <<'PY'
import json, sys, urllib.parse
run = json.load(open(sys.argv[1]))["runs"][0]
bases = run["originalUriBaseIds"]
assert bases["FSROOT"]["uri"] == "file:///" and bases["SCANROOT"]["uri"].endswith("/sub/"), bases
got = []
for r in run["results"]:
    for l in r["locations"]:
        a = l["physicalLocation"]["artifactLocation"]
        u = urllib.parse.urlsplit(a["uri"])
        assert not u.scheme and not u.netloc and not u.query and not u.fragment, a
        assert not a["uri"].startswith("/") and ".." not in a["uri"].split("/"), a
        full = urllib.parse.urljoin(bases[a["uriBaseId"]]["uri"], a["uri"])
        got.append((a["uriBaseId"], urllib.parse.unquote(urllib.parse.urlsplit(full).path)))
want = ("FSROOT", sys.argv[2] + "/odd/a b/x:y%z#1.py")
assert got == [want, want], (got, want)
PY
ok "SARIF: paths outside SCANROOT resolve through FSROOT; odd characters are percent-encoded"

expect_rc 1 airgap-verifier scan dirty --format junit --output out.xml
expect_rc 1 airgap-verifier scan dirty --format json --output out.json
$PY - out.xml out.json <<'PY'
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
j = json.load(open(sys.argv[2]))
suite = root.find("./testsuite")
cases = suite.findall("testcase")
rules = [r["id"] for r in j["rules"]]
found = [f for f in j["findings"]]
# one testcase per finding, plus one passing testcase per rule that found nothing
per_finding = [c for c in cases if " at " in c.get("name")]
assert len(per_finding) == len(found) == j["summary"]["findings"] == 37, (len(per_finding), len(found))
quiet = sorted(r["id"] for r in j["rules"] if r["findings"] == 0)
assert sorted(c.get("name") for c in cases if " at " not in c.get("name")) == quiet
names = [c.get("name") for c in cases]
assert len(names) == len(set(names)), "testcase names repeat"
fails = [c for c in cases if c.find("failure") is not None]
# medium and above fail (default --fail-on); info/low pass with their text in system-out
want = sum(1 for f in found if f["severity"] in ("medium", "high", "critical") and not f["suppressed"])
assert len(fails) == want == 36, (len(fails), want)
for c in fails:
    assert len(c.findall("failure")) == 1
    assert c.get("file", "").startswith("dirty/") and c.get("time") == "0"
low = [c for c in cases if c.get("name").startswith("net.host.public at ")]
assert len(low) == 1 and low[0].find("failure") is None and low[0].find("system-out") is not None
assert suite.get("tests") == str(len(cases)) and suite.get("failures") == str(want)
assert suite.get("errors") == "0" and suite.get("skipped") == "0"
assert float(suite.get("time")) >= 0
import datetime
datetime.datetime.strptime(suite.get("timestamp"), "%Y-%m-%dT%H:%M:%S")
assert j["passed"] is False and j["fail_on"] == "medium"
PY
ok "JUnit has one testcase per finding (time, timestamp); counts equal the JSON findings"

expect_rc 1 airgap-verifier scan dirty/app.py
expect_contains "$T/out" "dirty/app.py:11:8: medium [net.url.public] URL to a non-local host: api.openai.com"
expect_contains "$T/out" "    evidence: https://api.openai.com/v1"
expect_contains "$T/out" "    fix: "
ok "text format names rule, location, evidence and fix"

# --- allow file: suppressions with justification and expiry, local hosts and CIDRs
cat >allow.yaml <<'EOF'
version: 1
hosts: [api.openai.com]
cidrs: [93.184.216.0/24]
suppressions:
  - rule: telemetry.*
    path: "dirty/app.py"
    justification: SDKs are stubbed out in this build (ticket 42)
    expires: 2999-12-31
  - rule: update.checker
    justification: was fine last year
    expires: 2001-01-31
EOF
expect_rc 1 airgap-verifier scan dirty/app.py --allow allow.yaml --format json --output a.json
$PY - a.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["findings"]
rules = {x["rule_id"] for x in f}
assert "net.url.public" not in rules and "net.ip.public" not in rules, rules
sup = [x for x in f if x["suppressed"]]
assert sorted(x["rule_id"] for x in sup) == sorted(["telemetry.sentry", "telemetry.segment",
    "telemetry.datadog", "telemetry.posthog", "telemetry.mixpanel", "telemetry.google-analytics",
    "telemetry.vendor-endpoint"]), sup
assert all(x["suppress_reason"].startswith("SDKs are stubbed") for x in sup)
exp = [x for x in f if x["rule_id"] == "allow.expired"]
assert len(exp) == 1 and exp[0]["path"] == "allow.yaml" and (exp[0]["line"], exp[0]["column"]) == (9, 5), exp
assert "2001-01-31" in exp[0]["message"]
uc = [x for x in f if x["rule_id"] == "update.checker"]
assert len(uc) == 1 and not uc[0]["suppressed"]  # the expired entry suppresses nothing
assert d["summary"]["suppressed"] == 7
PY
ok "suppressions apply, stay visible, and expire into findings"

printf 'version: 1\nsuppressions:\n  - rule: x\n    justification: y\n    expires: 31/12/2030\n' >bad-allow.yaml
expect_rc 2 airgap-verifier scan dirty --allow bad-allow.yaml
expect_contains "$T/err" "bad-allow.yaml:5:14: expires must be a date YYYY-MM-DD"
printf 'version: 1\nsuppressions:\n  - rule: x\n' >bad-allow2.yaml
expect_rc 2 airgap-verifier scan dirty --allow bad-allow2.yaml
expect_contains "$T/err" "bad-allow2.yaml:3:5: missing required key 'justification'"
ok "a suppression without a justification, or with a bad date, is an error"

# --- archives: an OCI layout with a gzip layer, and a docker-save tar with a plain layer
mkdir -p layer/etc layer/usr/bin oci/blobs/sha256 dsave/abc123
printf '# app\nupstream = "https://telemetry.vendor.zz/v1"\n' >layer/etc/app.conf
printf '#!/bin/sh\npip install tool\n' >layer/usr/bin/start
tar -C layer -cf layer.tar etc usr
gzip -n -c layer.tar >layer.tgz
lh=$(sha256sum layer.tgz | cut -c1-64)
cp layer.tgz "oci/blobs/sha256/$lh"
printf '{"imageLayoutVersion": "1.0.0"}' >oci/oci-layout
printf '{"schemaVersion": 2, "manifests": []}' >oci/index.json
tar -C oci -cf oci/img.tar oci-layout index.json blobs
cp layer.tar dsave/abc123/layer.tar
printf '[{"Config": "c.json", "Layers": ["abc123/layer.tar"]}]' >dsave/manifest.json
tar -C dsave -cf dsave/saved.tar manifest.json abc123
mkdir arch && mv oci/img.tar dsave/saved.tar arch/
expect_rc 1 airgap-verifier scan arch --format json --output arch.json
findings arch.json | sed 's/ *$//' | sort >got.txt
sort >want.txt <<EOF
install.pip arch/img.tar!blobs/sha256/$lh!usr/bin/start:2:1
install.pip arch/saved.tar!abc123/layer.tar!usr/bin/start:2:1
net.url.public arch/img.tar!blobs/sha256/$lh!etc/app.conf:2:13
net.url.public arch/saved.tar!abc123/layer.tar!etc/app.conf:2:13
EOF
diff -u want.txt got.txt || fail "archive findings"
ok "OCI and docker-save images: layers scanned, nested locations exact"

printf 'version: 1\nsettings:\n  max_archive_depth: 1\n' >shallow.yaml
expect_rc 1 airgap-verifier scan arch/img.tar --rules shallow.yaml --format json --output sh.json
findings sh.json | sed 's/ *$//' >got.txt
echo "scan.incomplete arch/img.tar!blobs/sha256/$lh@0" >want.txt
diff -u want.txt got.txt || fail "depth cap"
head -c 3000 arch/saved.tar >trunc.tar
expect_rc 1 airgap-verifier scan trunc.tar --format json --output tr.json
expect_contains tr.json '"rule_id": "scan.incomplete"'
ok "archive depth cap and damaged archives are scan.incomplete findings"

# --- ELF: a program using the network, compiled here
if command -v cc >/dev/null 2>&1; then
	cat >net.c <<'EOF'
#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
const char *beacon = "https://beacon.vendor.zz/ping";
int main(void)
{
	struct addrinfo *ai = NULL;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (getaddrinfo("localhost", "80", NULL, &ai) == 0)
		connect(s, ai->ai_addr, ai->ai_addrlen);
	return beacon[0] == 'h' ? 0 : 1;
}
EOF
	mkdir bin
	cc -O0 -o bin/netprog net.c
	expect_rc 1 airgap-verifier scan bin --format json --output elf.json
	dynsym=$($PY - bin/netprog <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", b, 0x28)
shentsize, shnum = struct.unpack_from("<HH", b, 0x3a)
for i in range(shnum):
    typ, = struct.unpack_from("<I", b, shoff + i * shentsize + 4)
    off, = struct.unpack_from("<Q", b, shoff + i * shentsize + 24)
    if typ == 11:
        print(off); break
PY
)
	url_off=$($PY -c 'import sys; print(open(sys.argv[1], "rb").read().find(b"https://beacon"))' bin/netprog)
	findings elf.json | sed 's/ *$//' | sort >got.txt
	printf '%s\n' "elf.net-imports bin/netprog@$dynsym" "net.url.public bin/netprog@$url_off" | sort >want.txt
	diff -u want.txt got.txt || fail "ELF findings"
	expect_contains elf.json '"evidence": "socket, connect, getaddrinfo"'
	ok "ELF imports listed with their symbols; strings in binaries located by offset"
fi

# --- Helm charts: without helm the report says so; with helm (a stand-in here) it renders
expect_rc 1 env PATH="$EXAI_BUILD/verifier:/usr/bin:/bin" airgap-verifier scan chart --format json --output c1.json
expect_contains c1.json "helm template: not run for chart (helm not on PATH)"
findings c1.json | sed 's/ *$//' | sort >got.txt
printf '%s\n' "k8s.image.digest chart/values.yaml:2:15" "k8s.image.no-registry chart/values.yaml:2:15" \
	"k8s.image.tag chart/values.yaml:2:15" \
	"k8s.netpol.no-default-deny-egress chart/templates/deploy.yaml:1:1" | sort >want.txt
diff -u want.txt got.txt || fail "chart values"
mkdir fakebin
cat >fakebin/helm <<'EOF'
#!/bin/sh
[ "$1" = template ] || exit 3
printf -- '---\n# Source: demo/templates/deploy.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostNetwork: true\n  containers:\n    - name: web\n      image: registry.site.internal/web@sha256:%064d\n' 0
EOF
chmod +x fakebin/helm
expect_rc 1 env PATH="$T/fakebin:$EXAI_BUILD/verifier:/usr/bin:/bin" airgap-verifier scan chart --format json --output c2.json
expect_contains c2.json "helm template: rendered chart with $T/fakebin/helm"
findings c2.json | grep 'helm-template' | sed 's/ *$//' | sort >got.txt
printf '%s\n' "k8s.host-network chart!helm-template:8:16" \
	"k8s.netpol.no-default-deny-egress chart!helm-template:3:1" | sort >want.txt
diff -u want.txt got.txt || fail "helm render"
ok "Helm: values scanned; rendered output scanned when helm is on PATH; the report says which"
