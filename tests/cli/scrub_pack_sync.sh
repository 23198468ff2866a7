#!/bin/sh
# The scrubber's pattern pack (mirror/scrub_patterns.txt) and airgap-verifier's secret rules
# (verifier/rules/default.yaml) never drift apart: every kind of the pack has an '@verifier'
# line naming the verifier rule that reports it (or '-' and why not); every rule named exists,
# and every secret.* rule of the verifier is named by a kind. Then, per kind, one sample:
# exai-mirror scrubs it (stats counts scrubbed:<kind>) and airgap-verifier scan reports it
# under the rule the pack names. A kind with no sample here fails the test: add one.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
PACK="$EXAI_SRC/mirror/scrub_patterns.txt"
RULES="$EXAI_SRC/verifier/rules/default.yaml"
V="$EXAI_BUILD/verifier/airgap-verifier"
tab=$(printf '\t')

grep -v '^[#@]' "$PACK" | grep . | cut -f1 | sort >"$T/kinds"
grep '^@verifier' "$PACK" | cut -f2 | sort >"$T/mapped"
[ -s "$T/kinds" ] || fail "no kinds in $PACK"
diff -u "$T/kinds" "$T/mapped" >"$T/d" || fail "kinds (-) and @verifier lines (+) differ: $(cat "$T/d")"
[ "$(uniq -d "$T/mapped")" = "" ] || fail "a kind has two @verifier lines: $(uniq -d "$T/mapped")"
sed -n 's/^  - id: \(secret\.[a-z0-9.-]*\)$/\1/p' "$RULES" | sort -u >"$T/vrules"
[ -s "$T/vrules" ] || fail "no secret.* rules in $RULES"
grep '^@verifier' "$PACK" | cut -f3 | grep -vx -- - | sort -u >"$T/named"
diff -u "$T/vrules" "$T/named" >"$T/d" ||
	fail "verifier secret rules (-) and the rules the pack names (+) differ: $(cat "$T/d")"
grep '^@verifier' "$PACK" | awk -F"$tab" '$3 == "-" && $4 == "" { print $2 }' >"$T/noreason"
[ ! -s "$T/noreason" ] || fail "a kind left out of the verifier without a reason: $(cat "$T/noreason")"
ok "every kind of the pack maps to a verifier secret rule (or says why not), and every secret rule to a kind"

# Samples, built here so no secret-looking literal sits in the tree whole.
sample() { # sample KIND: the sample's text on stdout
	case $1 in
	aws_access_key_id) echo "key = AKIA$(echo 2HQ7ZK4LMNOP3QRS)" ;;
	aws_secret_access_key) echo "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY$(echo 9ZEXAMPLE1)" ;;
	gcp_service_account_key) printf '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"}\n' ;;
	pem_private_key) printf -- '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yQ0d5bL0y5Qx2lqVZlmm1yLKJ4xJ2W5y3Q9JkR+H2n3k1s0P7xZ9\n-----END RSA PRIVATE KEY-----\n' ;;
	github_fine_grained_token) echo "token github_pat_$(echo 11ABCDEFG0123456789abc)_$(echo 0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHI)" ;;
	github_token) echo "token ghp_$(echo Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa)" ;;
	jwt) echo "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYW1wbGUtdXNlciJ9.$(echo Qx7mPz3RtY9wLk2VbN8cJf4Hs6Dg1Ua5)" ;;
	email) echo "contact ops.team@example.org" ;;
	iban) echo "pay to GB82 WEST 1234 5698 7654 32" ;;
	*) return 1 ;;
	esac
}

mirror_config
mirror_start
: >"$T/in"
mkdir "$T/tree"
while read -r kind; do
	sample "$kind" >"$T/tree/$kind.txt" || fail "no sample for kind '$kind': add one to $0"
	jq -cRs '{class: "telemetry", body: .}' "$T/tree/$kind.txt" >>"$T/in"
done <"$T/kinds"
send "$T/in"
jq -s -e --argjson n "$(wc -l <"$T/kinds")" '(map(.ack.stored // 0) | add) == $n' "$T/replies" \
	>/dev/null || fail "acks: $(cat "$T/replies")"
expect_rc 0 exai-mirror stats --json --config "$T/mirror.yaml"
mirror_stop
while read -r kind; do
	jq -e --arg k "scrubbed:$kind" '.counters[$k] >= 1' "$T/out" >/dev/null ||
		fail "exai-mirror did not scrub the $kind sample: $(jq -c .counters "$T/out")"
done <"$T/kinds"
ok "exai-mirror scrubs each kind's sample"

rc=0
"$V" scan "$T/tree" --format json --no-group >"$T/scan" 2>"$T/scan.err" || rc=$?
[ "$rc" = 1 ] || fail "airgap-verifier scan exited $rc: $(cat "$T/scan.err")"
grep '^@verifier' "$PACK" | while IFS="$tab" read -r _ kind rule _; do
	[ "$rule" != - ] || continue
	jq -e --arg f "$kind.txt" --arg r "$rule" \
		'[.findings[] | select(.rule_id == $r and (.path | endswith("/" + $f)))] | length >= 1' \
		"$T/scan" >/dev/null || fail "airgap-verifier did not report the $kind sample as $rule"
done
ok "airgap-verifier reports each kind's sample under the rule the pack names"
