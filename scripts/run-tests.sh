#!/bin/sh
# Runs every CTest test in build dir $1, then prints each Check suite's summary line.
set -u
build=${1:-build}
ctest --test-dir "$build" --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
rc=$?
log="$build/Testing/Temporary/LastTest.log"
if [ -f "$log" ]; then
	echo "Check suites:"
	awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 }
	     /^[0-9]+%: Checks: / { printf "  %-28s %s\n", name, $0 }' "$log" | sort
fi
exit $rc
