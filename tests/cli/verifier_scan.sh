# airgap-verifier scan, end to end: one planted finding per rule with its exact location, a
# clean tree with none, secrets redacted, unless-switches, exit codes, errors with file:line:col.
. "$EXAI_SRC/tests/cli/lib.sh"
FX="$EXAI_SRC/tests/fixtures/verifier/scan"
PY=/usr/bin/python3
cd "$T"
cp -r "$FX/dirty" "$FX/clean" .

# findings FILE.json -> "rule path:line:col" (or "rule path@offset") per line, sorted
findings() {
	$PY - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    loc = "%s:%d:%d" % (f["path"], f["line"], f["column"]) if f["line"] else "%s@%d" % (f["path"], f["offset"])
    print(f["rule_id"], loc, "suppressed" if f["suppressed"] else "")
PY
}

# Secrets are written here, from pieces, so the repository itself holds none.
k="AKIA""IOSFODNN7EXAMPLE"
printf 'AWS_ACCESS_KEY_ID=%s\naws_secret_access_key = %s\nGITHUB_TOKEN=%s\nTOKEN=%s\n' \
	"$k" "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" "ghp_""0123456789abcdefghijABCDEFGHIJ012345" \
	"eyJ""hbGciOiJIUzI1NiJ9.eyJ""zdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLXZhbHVl" >dirty/creds.env
printf -- '-----BEGIN RSA ''PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA ''PRIVATE KEY-----\n' >dirty/key.pem
printf '{\n  "type": "service_account",\n  "project_id": "demo"\n}\n' >dirty/sa.json

# --- one finding per rule, exact locations
expect_rc 1 airgap-verifier scan dirty --format json --output dirty.json
findings dirty.json | sed 's/ *$//' | sort >got.txt
sort >want.txt <<'EOF'
acme.directory dirty/config.conf:2:16
dns.public-resolver dirty/config.conf:4:7
dns.public-resolver dirty/k8s.yaml:52:19
grafana.reporting dirty/grafana.ini:2:1
hf.hub-online dirty/app.py:9:19
install.helm-repo dirty/install.sh:5:1
install.npm dirty/install.sh:6:1
install.os-package dirty/install.sh:4:1
install.pip dirty/install.sh:2:1
install.pipe-to-shell dirty/install.sh:3:1
k8s.coredns.public-forward dirty/k8s.yaml:52:0
k8s.host-network dirty/k8s.yaml:9:20
k8s.image.digest dirty/k8s.yaml:14:18
k8s.image.no-registry dirty/k8s.yaml:18:18
k8s.image.registry dirty/k8s.yaml:12:18
k8s.image.tag dirty/k8s.yaml:20:18
k8s.istio.service-entry dirty/k8s.yaml:59:11
k8s.netpol.egress-public dirty/k8s.yaml:44:27
k8s.netpol.no-default-deny-egress dirty/k8s.yaml:1:1
k8s.pull-always dirty/k8s.yaml:21:28
k8s.service.externalname dirty/k8s.yaml:33:9
k8s.service.loadbalancer dirty/k8s.yaml:27:9
model.pickle dirty/model.pkl@0
model.trust-remote-code dirty/app.py:9:48
net.host.public dirty/config.conf:1:10
net.ip.public dirty/app.py:12:9
net.url.public dirty/app.py:11:8
ntp.public dirty/config.conf:3:7
secret.aws-access-key dirty/creds.env:1:19
secret.aws-secret-key dirty/creds.env:2:1
secret.gcp-service-account dirty/sa.json:2:3
secret.github-token dirty/creds.env:3:14
secret.jwt dirty/creds.env:4:7
secret.private-key dirty/key.pem:1:1
telemetry.datadog dirty/app.py:3:6
telemetry.google-analytics dirty/app.py:6:7
telemetry.mixpanel dirty/app.py:5:1
telemetry.posthog dirty/app.py:4:1
telemetry.segment dirty/app.py:2:20
telemetry.sentry dirty/app.py:1:8
telemetry.vendor-endpoint dirty/app.py:7:14
update.checker dirty/app.py:8:1
vllm.usage-stats dirty/app.py:10:1
EOF
diff -u want.txt got.txt || fail "dirty tree findings differ"
ok "every planted finding, at its exact location"

# secrets never appear in the output, in any format
for fmt in text json junit sarif; do
	expect_rc 1 airgap-verifier scan dirty --format "$fmt"
	expect_not_contains "$T/out" "IOSFODNN7EXAMPLE"
	expect_not_contains "$T/out" "wJalrXUtnFEMI"
	expect_not_contains "$T/out" "0123456789abcdefghijABCDEFGHIJ012345"
	expect_not_contains "$T/out" "zdWIiOiJ0ZXN0In0"
done
expect_contains "$T/out" "REDACTED"
ok "secrets are redacted in every format"

# --- the clean tree: nothing, exit 0
expect_rc 0 airgap-verifier scan clean
expect_contains "$T/out" "airgap-verifier scan: 0 findings"
ok "clean tree has no findings"

# --- unless-switches: the same model/vLLM/Grafana code without the switches is a finding
mkdir -p noswitch
printf 'from transformers import AutoModel\nm = AutoModel.from_pretrained("/m")\n' >noswitch/a.py
printf '#!/bin/sh\nexec vllm serve /models/x\n' >noswitch/run.sh
printf 'image: grafana/grafana:10.4@sha256:%s\n' "$(printf '%064d' 0)" >noswitch/values.txt
expect_rc 1 airgap-verifier scan noswitch --format json --output ns.json
findings ns.json | sed 's/ *$//' | sort >got.txt
printf '%s\n' "grafana.reporting-default noswitch/values.txt:1:8" "hf.hub-online noswitch/a.py:2:15" \
	"vllm.usage-stats noswitch/run.sh:2:6" | sort >want.txt
diff -u want.txt got.txt || fail "unless rules"
printf 'HF_HUB_OFFLINE=1\nVLLM_NO_USAGE_STATS=1\n[analytics]\nreporting_enabled = false\n' >noswitch/env.conf
expect_rc 0 airgap-verifier scan noswitch
ok "offline switches anywhere in the scan silence the model-hub, vLLM and Grafana rules"

# --- --fail-on
expect_rc 0 airgap-verifier scan dirty/model.pkl --fail-on high
expect_rc 1 airgap-verifier scan dirty/model.pkl --fail-on medium
expect_rc 0 airgap-verifier scan dirty --fail-on none
ok "--fail-on decides the exit status"

# --- errors: exit 2, located
expect_rc 2 airgap-verifier scan missing-dir
expect_contains "$T/err" "missing-dir"
expect_rc 2 airgap-verifier scan clean --format xml
expect_contains "$T/err" "unknown format 'xml'"
expect_rc 2 airgap-verifier scan clean --fail-on severe
expect_rc 2 airgap-verifier scan
expect_rc 2 airgap-verifier scan clean --bogus
printf 'version: 1\nrules:\n  - id: my.rule\n    severity: urgent\n    triggers: [x1]\n' >bad1.yaml
expect_rc 2 airgap-verifier scan clean --rules bad1.yaml
expect_contains "$T/err" "bad1.yaml:4:15: severity must be"
printf 'version: 1\nrules:\n  - id: my.rule\n    severity: low\n    triggers: [abc]\n    regex: "a(b"\n' >bad2.yaml
expect_rc 2 airgap-verifier scan clean --rules bad2.yaml
expect_contains "$T/err" "bad2.yaml:6:12: invalid regular expression"
printf 'version: 1\nrules:\n  - id: my.rule\n    severity: low\n    triggerz: [abc]\n' >bad3.yaml
expect_rc 2 airgap-verifier scan clean --rules bad3.yaml
expect_contains "$T/err" "bad3.yaml:5:5: unknown key 'triggerz'"
printf 'version: 1\nrules: [\n' >bad4.yaml
expect_rc 2 airgap-verifier scan clean --rules bad4.yaml
expect_contains "$T/err" "bad4.yaml:3:1: "
ok "bad paths, options and rules files exit 2 with file:line:col"

# --- --rules extends and overrides the defaults
cat >extra.yaml <<'EOF'
version: 1
settings:
  local_registries: [docker.io]
rules:
  - id: site.codename
    severity: high
    triggers: [BLUEFIN]
    message: internal code name in shipped content
    hint: remove it
  - id: net.url.public
    enabled: false
EOF
printf 'x = "https://api.openai.com/"\ny = "project BLUEFIN"\n' >codename.py
expect_rc 1 airgap-verifier scan codename.py --rules extra.yaml --format json --output ext.json
findings ext.json | sed 's/ *$//' >got.txt
echo "site.codename codename.py:2:14" >want.txt
diff -u want.txt got.txt || fail "--rules override"
# without the defaults, the override of an unknown rule is a new rule lacking a severity
expect_rc 2 airgap-verifier scan codename.py --rules extra.yaml --no-default-rules
expect_contains "$T/err" "extra.yaml:10:5: new rule 'net.url.public' needs a severity"
head -9 extra.yaml >only.yaml
expect_rc 0 airgap-verifier scan codename.py --rules only.yaml --no-default-rules --fail-on critical
expect_contains "$T/out" "1 finding (0 critical, 1 high"
ok "--rules adds rules and overrides shipped ones"
