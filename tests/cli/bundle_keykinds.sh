#!/bin/sh
# A file of the wrong kind where a key or a trust root is needed: the message says what the
# file is and what is needed (a public key where a secret one is needed, a site secret key for
# --recipient, a key for --root, ...), never a parser's complaint or the format's magic bytes
# ("malformed secret key", "expected a 'Xs' key", "line 1: malformed line"). Exit 2, nothing
# written.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
mk_tree
mk_root 1 root r1
cd "$T"
K="$T/keys"
"$B" create spec.yaml --out b --no-encrypt >/dev/null
sum=$(find b -type f -exec sha256sum {} + | sort | sha256sum)

bad() { # bad MSG ARGS...: exit 2, MSG on stderr, none of the old wordings (expect_rc uses $want)
	msg=$1
	shift
	expect_rc 2 "$B" "$@"
	expect_contains "$T/err" "$msg"
	expect_not_contains "$T/err" "malformed"
	expect_not_contains "$T/err" "expected a '"
	expect_not_contains "$T/err" "base64 blob"
}
bad "$K/r1.pub is a release public key, not a secret signing key" sign b --key "$K/r1.pub"
bad "$K/k1.pub is a root public key, not a secret signing key" root sign "$K/root" --key "$K/k1.pub"
[ "$(find b -type f -exec sha256sum {} + | sort | sha256sum)" = "$sum" ] || fail "sign changed the bundle"
bad "$K/s1.key is a site secret key; this needs a site public key (.pub)" \
	create spec.yaml --out e1.exb --recipient "$K/s1.key"
bad "$K/r1.pub is a release key (its key file says so); --recipient needs a site key" \
	create spec.yaml --out e2.exb --recipient "$K/r1.pub"
[ ! -e e1.exb ] && [ ! -e e2.exb ] || fail "create left a bundle behind"
bad "$K/s1.pub is a site public key; this needs a site secret key (.key)" inspect b --key "$K/s1.pub"
bad "$K/r1.key is a release secret key, not a trust root" verify b --root "$K/r1.key"
bad "$K/s1.pub is a site public key, not a trust root" verify b --root "$K/s1.pub"
bad "$K/k1.key is a root secret key; this needs a public key" \
	root init --out r2 --root-key "$K/k1.key" --root-threshold 1 --release-key "$K/r1.pub" \
	--release-threshold 1
bad "$K/s1.pub is a site key (its key file says so); --release-key needs a release key" \
	root init --out r3 --root-key "$K/k1.pub" --root-threshold 1 --release-key "$K/s1.pub" \
	--release-threshold 1
[ ! -e r2 ] && [ ! -e r3 ] || fail "root init wrote a root"
# The verify-only tools say the same (the library's loaders).
expect_rc 2 airgap-verifier bundle b --root "$K/r1.pub"
expect_contains "$T/err" "$K/r1.pub is a release public key, not a trust root"
# A file that is no key at all keeps the parser's precise message.
printf 'untrusted comment: x\nnot base64 at all\n' >junk.key
expect_rc 2 "$B" sign b --key junk.key
expect_contains "$T/err" "junk.key: malformed secret key"
ok "every wrong kind of key or root file is named as what it is, with what is needed"
echo "1..$tests_run"
