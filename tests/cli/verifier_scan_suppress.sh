# airgap-verifier scan: inline suppression comments (`airgap-verifier:allow RULE reason`, on
# the finding's line or alone on the line before; the reason is required, a marker without
# one suppresses nothing and is itself a finding) and baseline files (--write-baseline,
# --baseline: only new findings fail; line numbers are not part of an entry; a bad file is
# a clear error, exit 2).
. "$EXAI_SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
cd "$T"

# rows FILE.json -> "rule path:line suppressed-reason" per finding
rows() {
	$PY - "$1" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    print(f["rule_id"], "%s:%d" % (f["path"], f["line"]),
          f.get("suppress_reason", "-") if f["suppressed"] else "-")
PY
}

mkdir t
cat >t/app.py <<'EOF2'
# airgap-verifier:allow net.url.public mirrored on site by the ops team
URL1 = "https://api.vendor-a.zz/x"
URL2 = "https://api.vendor-b.zz/y"  # airgap-verifier:allow net.url.* docs only, never fetched
URL3 = "https://api.vendor-c.zz/z"  # airgap-verifier:allow net.url.public
URL4 = "https://api.vendor-d.zz/w"  # airgap-verifier:allow telemetry.sentry the wrong rule
EOF2
cat >t/web.js <<'EOF2'
fetch("https://api.vendor-e.zz/q"); /* airgap-verifier:allow net.url.public */
fetch("https://api.vendor-f.zz/q"); /* airgap-verifier:allow net.url.public local proxy rewrites it */
EOF2
cat >t/deploy.yaml <<'EOF2'
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: web
      # airgap-verifier:allow k8s.image.* mirrored into the site registry by the pipeline
      image: nginx:latest
    - name: side
      image: busybox:latest
EOF2
expect_rc 1 airgap-verifier scan t --format json --output s.json
rows s.json | grep -v k8s.netpol >got.txt
cat >want.txt <<'EOF2'
net.url.public t/app.py:2 inline: mirrored on site by the ops team
net.url.public t/app.py:3 inline: docs only, never fetched
net.url.public t/app.py:4 -
allow.inline.no-reason t/app.py:4 -
net.url.public t/app.py:5 -
k8s.image.digest t/deploy.yaml:8 inline: mirrored into the site registry by the pipeline
k8s.image.no-registry t/deploy.yaml:8 inline: mirrored into the site registry by the pipeline
k8s.image.tag t/deploy.yaml:8 inline: mirrored into the site registry by the pipeline
k8s.image.digest t/deploy.yaml:10 -
k8s.image.no-registry t/deploy.yaml:10 -
k8s.image.tag t/deploy.yaml:10 -
net.url.public t/web.js:1 -
allow.inline.no-reason t/web.js:1 -
net.url.public t/web.js:2 inline: local proxy rewrites it
EOF2
diff -u want.txt got.txt || fail "inline suppressions"
ok "inline comments suppress with their reason; a trailing comment covers its own line only"
ok "a marker without a reason (or naming another rule) suppresses nothing; no reason is a finding"

# --- baseline
expect_rc 1 airgap-verifier scan t --write-baseline base.txt
head -1 base.txt | grep -qx 'airgap-verifier-baseline 1' || fail "baseline header"
n=$(tail -n +2 base.txt | wc -l)
[ "$n" = 9 ] || fail "baseline has $n entries, want the 9 unsuppressed findings"
grep -qP '^net\.url\.public\tt/app\.py\t[0-9a-f]{64}$' base.txt || fail "entry format"
! grep -q ':[0-9]' base.txt || fail "line numbers in the baseline"
expect_rc 0 airgap-verifier scan t --baseline base.txt
expect_contains "$T/out" "note: baseline base.txt: 9 finding(s) baselined, 0 new; 0 baseline entries matched nothing"
ok "--write-baseline records the findings; --baseline makes the same tree pass"

# edits move every line down: the baseline still holds; a new finding fails alone
{ printf '\n\n\n'; cat t/app.py; echo 'URL5 = "https://api.vendor-new.zz/v"'; } >t/app2 && mv t/app2 t/app.py
expect_rc 1 airgap-verifier scan t --baseline base.txt --format json --output b.json
rows b.json | grep -- ' -$' >new.txt || true
[ "$(cat new.txt)" = "net.url.public t/app.py:9 -" ] || { cat new.txt; fail "new findings"; }
expect_rc 1 airgap-verifier scan t --baseline base.txt
expect_contains "$T/out" "9 finding(s) baselined, 1 new"
expect_contains "$T/out" "    suppressed: baseline base.txt"
ok "line shifts keep baselined findings baselined; only the new finding fails"

# a second copy of a baselined finding is new (entries are used once)
echo 'fetch("https://api.vendor-e.zz/q");' >>t/web.js
expect_rc 1 airgap-verifier scan t --baseline base.txt
expect_contains "$T/out" "9 finding(s) baselined, 2 new"
ok "each baseline entry covers one finding"

# --- bad baseline files: exit 2 with the file and line, before scanning
bad() { # NAME CONTENT MESSAGE
	printf '%b' "$2" >"$1"
	expect_rc 2 airgap-verifier scan t --baseline "$1"
	expect_contains "$T/err" "$3"
}
H=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
bad b1 'hello\n' "b1:1: not an airgap-verifier baseline"
bad b2 "airgap-verifier-baseline 1\nnet.url.public\tt/app.py\tABCD\n" "b2:2: the hash is not 64 hex digits"
bad b3 "airgap-verifier-baseline 1\nnet.url.public t/app.py $H\n" "b3:2: want RULE<TAB>PATH<TAB>SHA256"
bad b4 "airgap-verifier-baseline 1\nnet.url.public\tt/app.py\t$H" "b4:2: last line has no newline"
bad b5 "airgap-verifier-baseline 1\nnet url\tt/app.py\t$H\n" "b5:2: bad rule id"
bad b6 "airgap-verifier-baseline 1\nnet.url.public\t\t$H\n" "b6:2: bad path"
{ echo 'airgap-verifier-baseline 1'; printf 'r\t%09000d\t%s\n' 0 $H; } >b7
expect_rc 2 airgap-verifier scan t --baseline b7
expect_contains "$T/err" "b7:2: line longer than 8192 bytes"
expect_rc 2 airgap-verifier scan t --baseline missing.txt
expect_contains "$T/err" "missing.txt"
ok "malformed, truncated, oversized or missing baselines are refused (exit 2) naming the line"
echo "1..$tests_run"
