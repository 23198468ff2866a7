#!/bin/sh
# Benchmark: `airgap-verifier scan` with every shipped rule vs `grep -rEI` with the URL pattern
# alone, over the same generated tree: 20,000 mixed files, 1 GiB (Python, C headers, docs,
# JSON, shell, Kubernetes YAML, ELF binaries and binary blobs, with planted URLs and secrets).
# The tree lives in /dev/shm (page cache, so both tools are measured on CPU, not disk).
# Best of 3 runs each, wall clock. Prints tab-separated "row" and "note" lines on stdout
# (scripts/bench_table.py: make bench runs the script 3 times and tabulates min, median and
# max); progress goes to stderr.
#
# Environment: EXAI_BUILD (build dir, default build), BENCH_FILES (20000), BENCH_BYTES (1 GiB),
# BENCH_DIR (where to put the tree), BENCH_KEEP=1 (keep the tree; its path is printed),
# BENCH_TREE (an existing tree from an earlier BENCH_KEEP=1 run: measure it, generate nothing).
set -eu
src=${EXAI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
build=${EXAI_BUILD:-$src/build}
bin="$build/verifier/airgap-verifier"
files=${BENCH_FILES:-20000}
bytes=${BENCH_BYTES:-1073741824}
[ -x "$bin" ] || { echo "verifier_scan: $bin not built" >&2; exit 1; }

if [ -z "${BENCH_DIR:-}" ]; then
	# Room for the tree, the outputs, and some to spare (sizes in KiB: no overflow in awk).
	roomy=$(df -Pk /dev/shm 2>/dev/null | awk -v need="$((bytes / 1024 * 3))" 'NR == 2 { print ($4 > need) }')
	if [ "$roomy" = 1 ]; then
		BENCH_DIR=/dev/shm
	else
		BENCH_DIR=/tmp
	fi
fi
work=$(mktemp -d "$BENCH_DIR/vf-scan-bench.XXXXXX")
if [ "${BENCH_KEEP:-0}" = 1 ] && [ -z "${BENCH_TREE:-}" ]; then
	echo "verifier_scan: keeping $work/tree (BENCH_TREE=$work/tree reuses it)" >&2
	trap 'rm -f "$work/grep.out" "$work/scan.json"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
tree=${BENCH_TREE:-$work/tree}

if [ -n "${BENCH_TREE:-}" ]; then
	[ -d "$tree" ] || { echo "verifier_scan: BENCH_TREE $tree is not a directory" >&2; exit 1; }
	echo "verifier_scan: reusing $tree" >&2
else
echo "verifier_scan: generating $files files, $bytes bytes in $tree" >&2
/usr/bin/python3 - "$tree" "$files" "$bytes" <<'PY'
import os, random, sys, glob
tree, nfiles, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20261130)

def corpus(patterns, cap):
    out, size = [], 0
    for pat in patterns:
        for p in sorted(glob.glob(pat, recursive=True)):
            try:
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                b = open(p, 'rb').read(1 << 20)
            except OSError:
                continue
            if b:
                out.append(b)
                size += len(b)
            if size > cap:
                return out
    return out or [b'# nothing here\n' * 64]

text = {
    'py': corpus(['/usr/lib/python3*/**/*.py'], 64 << 20),
    'h': corpus(['/usr/include/**/*.h'], 64 << 20),
    'md': corpus(['/usr/share/doc/**/*.txt', '/usr/share/doc/**/README*',
                  '/usr/share/doc/**/copyright'], 32 << 20),
    'sh': corpus(['/usr/bin/*'], 8 << 20),
}
text['sh'] = [b for b in text['sh'] if b.startswith(b'#!') and b'\0' not in b[:4096]] or text['py']
elves = [b for b in corpus(['/usr/bin/*', '/usr/lib/x86_64-linux-gnu/*.so*'], 256 << 20)
         if b.startswith(b'\x7fELF')]

def yaml_doc(i):
    # Mostly what a release should ship (site registry, pinned by digest), a few slips.
    r = rnd.random()
    img = ('registry.site.internal/app/web@sha256:%064x' % i if r < 0.9 else
           'ghcr.io/acme/api:1.%d' % i if r < 0.95 else 'nginx:latest')
    return ('---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-%d\n'
            '  namespace: ns-%d\nspec:\n  replicas: 2\n  template:\n    spec:\n'
            '      containers:\n        - name: c\n          image: %s\n'
            '          imagePullPolicy: IfNotPresent\n'
            '          env:\n            - name: ENDPOINT\n'
            '              value: "http://svc-%d.ns.svc.cluster.local:8080/api"\n'
            '          args: ["--port=8080", "--log-level=info"]\n'
            '          resources: {limits: {cpu: "1", memory: 512Mi}}\n'
            % (i, i % 7, img, i)).encode()

plants = [b'\nURL = "https://api.segment.io/v1/track"\n', b'\nhost: 8.8.8.8\n',
          b'\nAKIAIOSFODNN7EXAMPLE\n', b'\nsee https://docs.python.org/3/library/\n',
          b'\nfetch("https://cdn.example.net/x.js")\n']

def fill(kind, size):
    if kind == 'yaml':  # whole documents, padded with a comment to the size
        parts, n, i = [], 0, rnd.randrange(1 << 20)
        while True:
            d = yaml_doc(i); i += 1
            if n + len(d) > size:
                break
            parts.append(d); n += len(d)
        return b''.join(parts) + (b'#' * (size - n - 1) + b'\n' if size > n else b'')
    if kind == 'json':
        parts, n = [], 0
        while n < size:
            d = ('{"id": %d, "name": "item-%d", "url": "http://10.1.%d.%d/x", "tags": '
                 '["a", "b"], "score": %d.%d}\n' % (n, n, n % 250, n % 200, n % 97, n % 13)).encode()
            parts.append(d); n += len(d)
        return b''.join(parts)[:size]
    if kind == 'blob':
        return rnd.randbytes(size)
    if kind == 'elf':
        # A whole ELF file no larger than the target, padded with data after its end.
        fit = [b for b in elves if len(b) <= size]
        if not fit:
            return rnd.randbytes(size)
        b = rnd.choice(fit)
        return b + rnd.randbytes(size - len(b))
    src = text[kind]
    parts, n = [], 0
    while n < size:
        b = rnd.choice(src)
        off = rnd.randrange(len(b))
        chunk = b[off:off + size - n]
        parts.append(chunk); n += len(chunk)
        if rnd.random() < 0.05:
            p = rnd.choice(plants); parts.append(p); n += len(p)
    return b''.join(parts)[:size]

mix = [('py', 'py', 30), ('h', 'h', 20), ('md', 'md', 10), ('yaml', 'yaml', 12),
       ('json', 'json', 10), ('sh', 'sh', 5), ('elf', 'so', 8), ('blob', 'bin', 5)]
kinds = []
for kind, ext, pct in mix:
    kinds += [(kind, ext)] * pct
weights = [rnd.lognormvariate(0, 1.2) for _ in range(nfiles)]
scale = total / sum(weights)
sizes = [max(64, int(w * scale)) for w in weights]
# Manifests are small files in real releases: cap them, give the bytes to the rest.
for i in range(nfiles):
    if kinds[i % len(kinds)][0] == 'yaml' and sizes[i] > 48 << 10:
        sizes[(i + 1) % nfiles] += sizes[i] - (48 << 10)
        sizes[i] = 48 << 10
sizes[-1] += total - sum(sizes)
os.makedirs(tree, exist_ok=True)
for i, size in enumerate(sizes):
    kind, ext = kinds[i % len(kinds)]
    d = os.path.join(tree, 'd%02d' % (i % 50), 's%02d' % (i % 17))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'f%05d.%s' % (i, ext)), 'wb') as f:
        f.write(fill(kind, max(size, 1)))
PY
fi
actual=$(du -sb "$tree" | cut -f1)
nf=$(find "$tree" -type f | wc -l)
echo "verifier_scan: tree has $nf files, $actual bytes" >&2

now() { date +%s.%N; }
# best_of CMD...: best wall-clock seconds of 3 runs (exit status 0 or 1 accepted).
best_of() {
	best=""
	for _ in 1 2 3; do
		t0=$(now)
		set +e
		"$@"
		rc=$?
		set -e
		t1=$(now)
		[ "$rc" -le 1 ] || { echo "verifier_scan: '$*' failed ($rc)" >&2; exit 1; }
		t=$(echo "$t1 - $t0" | bc -l 2>/dev/null || awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
		if [ -z "$best" ] || [ "$(awk -v a="$t" -v b="$best" 'BEGIN { print (a < b) }')" = 1 ]; then
			best=$t
		fi
	done
	echo "$best"
}

url_re='https?://[^[:space:]"'"'"'<>]+'
run_grep() { LC_ALL=C grep -rEIn "$url_re" "$tree" >"$work/grep.out"; }
run_scan() { "$bin" scan "$tree" --format json --output "$work/scan.json" --fail-on none; }

# Warm the page cache once for both.
cat "$(find "$tree" -type f | head -1)" >/dev/null
run_grep || true
g=$(best_of run_grep)
s=$(best_of run_scan)
gl=$(wc -l <"$work/grep.out")
sf=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["findings"])' "$work/scan.json")
echo "verifier_scan: grep ${g}s ($gl matching lines), scan ${s}s ($sf findings)" >&2

tab=$(printf '\t')
printf 'row%s%s%s%s%s%s%s%s%s%s\n' "$tab" "scan, every rule ($nf generated files, $((actual / 1048576)) MiB)" "$tab" "$s" \
	"$tab" "grep -rEIn URL pattern only" "$tab" "$g" "$tab" 1
printf 'note%s%s\n' "$tab" "Generated tree in $BENCH_DIR; grep $gl matching lines, scan $sf findings; each figure the best of 3 runs in its round."
