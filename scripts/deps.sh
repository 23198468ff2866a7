#!/bin/sh
# Installs every Debian package the build, the tests, the demo and the benchmarks need.
# This is the only place packages are named. Does nothing when all are present.
set -eu

# clang builds the libFuzzer harnesses (make fuzz-smoke, bench/fuzz.sh) and the clang build
# of CI; libFuzzer itself is libclang-rt-14-dev, only a Recommends of clang's packages (which
# --no-install-recommends below skips), hence named.
PKGS="
build-essential cmake pkg-config file clang-format
clang libclang-rt-14-dev
libsodium-dev libssl-dev libarchive-dev libsqlite3-dev libyaml-dev libjansson-dev libseccomp-dev
libpcre2-dev
check libsubunit-dev
libzstd-dev liblz4-dev libacl1-dev libbz2-dev liblzma-dev zlib1g-dev libxml2-dev nettle-dev
minisign sqlite3 iproute2 util-linux e2fsprogs python3-cryptography jq python3
age rauc squashfs-tools openssl time bc tmux rsyslog
golang-go golang-golang-x-mod-dev
"
# golang-go and golang-golang-x-mod-dev build exai-mirror's independent checker
# (tests/gocheck, on golang.org/x/mod/sumdb/note and sumdb/tlog) offline, in GOPATH mode.
# exai-egress (bpf/): libbpf and libelf for the loader, bpftool to generate vmlinux.h and the
# skeletons at build time (clang, above, compiles the *.bpf.c programs).
PKGS="$PKGS libbpf-dev libelf-dev bpftool"
# nftables: bench/egress.sh only, the same CIDRs as exai-egress's policy in an nftables set,
# side by side (a throwaway table that matches the benchmark's own cgroup only).
PKGS="$PKGS nftables"
# npm fetches the pinned packages of the real-world corpus (make test-realworld: npm pack):
# Debian's, unless one is on PATH already (NodeSource's nodejs bundles npm and conflicts with
# the Debian package).
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends $missing; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
fi
