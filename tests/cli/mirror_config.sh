# exai-mirror's config and start-up refusals: unknown keys at file:line:column, required
# keys and classes, the config from EXAI_MIRROR_CONFIG, a damaged database refused and left
# as it was, a non-socket at the socket path refused, usage errors.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"

mirror_config "colour: blue"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "config: $T/mirror.yaml:16:1: unknown key 'colour'"
ok "an unknown top-level key is refused at file:line:column"

mirror_config
sed -i 's/retention_days: 30}/retention_days: 30, keep: 1}/' "$T/mirror.yaml"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "mirror.yaml:9:35: unknown key 'keep'"
ok "an unknown key inside a class is refused at its position"

mirror_config
sed -i '/audit:/d' "$T/mirror.yaml"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "class 'audit' is required"
mirror_config
sed -i 's/"0666"/"0999"/' "$T/mirror.yaml"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "socket.mode must be an octal mode"
mirror_config
sed -i 's/uid: 0/uid: 0\n    gid: 0/' "$T/mirror.yaml"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "exactly one of uid and gid"
mirror_config
sed -i 's|^state_dir: .*|state_dir: relative/dir|' "$T/mirror.yaml"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "'state_dir' must be an absolute path"
ok "required class audit, octal socket mode, one of uid/gid, absolute paths"

# The config from the environment, and the default named when neither is given.
mirror_config "colour: blue"
EXAI_MIRROR_CONFIG="$T/mirror.yaml" expect_rc 2 exai-mirror serve
expect_contains "$T/err" "unknown key 'colour'"
EXAI_MIRROR_CONFIG="" expect_rc 2 exai-mirror serve
expect_contains "$T/err" "/etc/exai/mirror.yaml"
ok "EXAI_MIRROR_CONFIG names the config; the default is /etc/exai/mirror.yaml"

# The log key: required, and it must be the origin's.
mirror_config
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "log_key (make one with 'exai-mirror keygen'): $T/log.key"
expect_rc 0 exai-mirror keygen --config "$T/mirror.yaml"
expect_contains "$T/out" "verifier key: $T/log.vkey"
grep -Eq '^example\.com/mirror\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$' "$T/log.vkey" ||
	fail "vkey form: $(cat "$T/log.vkey")"
grep -Eq '^PRIVATE\+KEY\+example\.com/mirror\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$' "$T/log.key" || fail "skey form"
[ "$(stat -c %a "$T/log.key")" = 600 ] || fail "log key mode"
cp "$T/log.key" "$T/log.key.orig"
expect_rc 2 exai-mirror keygen --config "$T/mirror.yaml"
cmp -s "$T/log.key" "$T/log.key.orig" || fail "keygen overwrote the key"
sed 's|^origin: .*|origin: other.example/log|; s|/log\.key$|/other.key|' "$T/mirror.yaml" >"$T/other.yaml"
expect_rc 0 exai-mirror keygen --config "$T/other.yaml"
sed -i 's|^origin: .*|origin: example.com/mirror|' "$T/other.yaml"
expect_rc 2 exai-mirror serve --config "$T/other.yaml"
expect_contains "$T/err" "is the key of 'other.example/log', the origin is 'example.com/mirror'"
chmod 644 "$T/log.key"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "chmod"
chmod 600 "$T/log.key"
ok "keygen: signed-note skey (0600, never overwritten) and vkey; serve needs the origin's key"

# A damaged database: refused at start with a clear message, never overwritten.
mkdir -p "$T/mstate"
head -c 8192 /dev/urandom >"$T/mstate/mirror.db"
cp "$T/mstate/mirror.db" "$T/orig.db"
expect_rc 1 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "$T/mstate/mirror.db"
expect_contains "$T/err" "not a database"
cmp -s "$T/mstate/mirror.db" "$T/orig.db" || fail "the damaged database was changed"
[ ! -e "$SOCK" ] || fail "a socket was bound"
ok "a damaged database is refused at start and left untouched"

# Another log's database (other origin) is refused too.
rm -f "$T/mstate/mirror.db"
mirror_start
mirror_stop
sed -i 's|^origin: .*|origin: other.example/log|; s|^log_key: .*|log_key: '"$T"'/other.key|' "$T/mirror.yaml"
expect_rc 1 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "the log's origin is 'example.com/mirror', the config says 'other.example/log'"
ok "a database of another origin is refused"

# A regular file where the socket goes is refused, not removed.
mirror_config
echo keep >"$SOCK"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "exists and is not a socket"
[ "$(cat "$SOCK")" = keep ] || fail "the file at the socket path was touched"
rm -f "$SOCK"
ok "a file that is not a socket at the socket path is refused and kept"

expect_rc 2 exai-mirror serve --bogus
expect_contains "$T/err" "exai-mirror serve: unknown option '--bogus'"
expect_rc 2 exai-mirror frobnicate
expect_contains "$T/err" "unknown command 'frobnicate'"
expect_rc 0 exai-mirror serve --help
expect_contains "$T/out" "usage: exai-mirror serve"
ok "usage errors exit 2 naming the problem"
