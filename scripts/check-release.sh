#!/bin/sh
# Checks that a release build (EXAI_TESTING off) holds no test hook: no exai_fault symbol and
# no trace of the EXAI_FAULT / EXAI_FAULT_LOG variables, nor of exai-mirror's retention clock
# skew (EXAI_MIRROR_RETENTION_SKEW_DAYS) or free-space file (EXAI_MIRROR_TEST_FREE_FILE), nor
# of exai-egress's state directory variable (EXAI_EGRESS_STATE_DIR), in any tool. Exits 1 naming the tool.
#   scripts/check-release.sh BUILD_DIR
set -eu
build=${1:?usage: check-release.sh BUILD_DIR}
bad=0
n=0
for tool in bundler/exai-bundle appliance/exai-update verifier/airgap-verifier mirror/exai-mirror \
	bpf/exai-egress; do
	bin="$build/$tool"
	[ -x "$bin" ] || continue
	n=$((n + 1))
	if nm "$bin" 2>/dev/null | grep -q ' exai_fault$'; then
		echo "check-release: $bin has the exai_fault test hook (built with EXAI_TESTING=ON?)" >&2
		bad=1
	fi
	if grep -q 'EXAI_FAULT' "$bin"; then
		echo "check-release: $bin reads EXAI_FAULT* (a test hook)" >&2
		bad=1
	fi
	if grep -q 'EXAI_MIRROR_RETENTION_SKEW\|EXAI_MIRROR_TEST_FREE_FILE' "$bin"; then
		echo "check-release: $bin reads an EXAI_MIRROR_* test hook (retention skew, free space)" >&2
		bad=1
	fi
	if grep -q 'EXAI_EGRESS_STATE_DIR' "$bin"; then
		echo "check-release: $bin reads EXAI_EGRESS_STATE_DIR (a test hook: the ratchet record's place)" >&2
		bad=1
	fi
done
[ "$n" -gt 0 ] || { echo "check-release: no tools in $build" >&2; exit 1; }
[ "$bad" = 0 ] || exit 1
echo "check-release: $n tools in $build hold no test hook"
