#!/bin/sh
# make demo: the main job end to end, in a fresh temp dir, printing each step.
# Steps for tools that are not built (exai-egress needs bpftool and BTF) are announced as
# "coming" and skipped.
set -eu
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/exai-demo.XXXXXX)
# The health check runs as an unprivileged user (hooks.user, default exai-hook or nobody):
# it must be able to reach the installed tree, as on an appliance (root-owned, mode 0755).
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export EXAI_NO_PROGRESS=${EXAI_NO_PROGRESS:-}

step() { printf '\n==> %s\n' "$*"; }
have() { [ -x "$build/$1" ]; }

echo "exai-airgap demo in $work"

if [ -x "$src/scripts/demo-steps.sh" ]; then
	. "$src/scripts/demo-steps.sh"
else
	step "foundation: libexai built; its unit suites run with 'make test'"
	step "coming: keys, trust root, bundle create/sign, exai-update verify/apply/status, mirror, airgap-verifier"
fi
echo
echo "demo: ok"
