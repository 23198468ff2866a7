# Hardened extraction end to end: an insider with a valid release key signs bundles whose tar
# components break one rule each (crafted with python's tarfile, assembled and signed by the
# test-only upd_mkbundle). Each apply fails, nothing outside staging is created, and the
# installed state is unchanged.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "hooks: {health_check: [/bin/true]}"
mkdir -p "$T/evil" "$T/outside"
/usr/bin/python3 - "$T/evil" "$T/outside" <<'EOS'
import io, sys, tarfile, gzip
d, outside = sys.argv[1], sys.argv[2]
def tar(name, entries, mode="w"):
    with tarfile.open(f"{d}/{name}.tar", mode, format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.mode = e.get("mode", 0o644)
            ti.linkname = e.get("link", "")
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
tar("good", [{"name": "bin/run", "data": b"ok\n", "mode": 0o755}])
tar("absolute", [{"name": outside + "/abs", "data": b"x"}])
tar("dotdot", [{"name": "a/../../../outside/dotdot", "data": b"x"}])
tar("symlink", [{"name": "esc", "type": tarfile.SYMTYPE, "link": outside},
                {"name": "esc/pwned", "data": b"x"}])
tar("symlink_rel", [{"name": "d/up", "type": tarfile.SYMTYPE, "link": "../../../outside"}])
tar("hardlink", [{"name": "h", "type": tarfile.LNKTYPE, "link": "/etc/passwd"}])
tar("device", [{"name": "null", "type": tarfile.CHRTYPE}])
tar("fifo", [{"name": "p", "type": tarfile.FIFOTYPE}])
tar("setuid", [{"name": "su", "data": b"x", "mode": 0o4755}])
tar("many", [{"name": f"f{i}", "data": b"x"} for i in range(5)])
tar("big", [{"name": "f", "data": b"x" * 5000}])
with tarfile.open(f"{d}/bomb.tar", "w:gz", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("zeros"); ti.size = 8 << 20
    t.addfile(ti, io.BytesIO(bytes(8 << 20)))
EOS

# app OUT SEQ TARNAME ENTRIES UNPACKED FLAGS
app() {
	"$MK" --out "$1" --sequence "$2" --created "$NOW" --expires $((NOW + 86400)) --class gpu \
		--recipient "$T/site.pub" --sign "$T/rel1.key" \
		--comp "software:app:$2:tar:app:$4:$5:$6:$T/evil/$3.tar" >/dev/null
}

app "$T/b1" 1 good 1 3 -
expect_rc 0 U apply "$T/b1"
[ "$(cat "$T/inst/sw/app/current/bin/run")" = ok ] || fail "good tar"
base=$(snapshot)
seq=2

# rejected TAR ENTRIES UNPACKED FLAGS TEXT
rejected() {
	app "$T/x$seq" $seq "$1" "$2" "$3" "$4"
	expect_rc 1 U apply "$T/x$seq"
	expect_contains "$T/err" "$5"
	[ "$(snapshot)" = "$base" ] || fail "$1: state changed"
	[ -z "$(ls -A "$T/outside")" ] || fail "$1: wrote outside: $(ls "$T/outside")"
	[ -z "$(find "$T/inst" -name '.stage*')" ] || fail "$1: staging left behind"
	ok "refused: $1 ($5)"
	seq=$((seq + 1))
}

rejected absolute 10 10 - "absolute path"
rejected dotdot 10 10 - "path with '..'"
rejected symlink 10 10 - "leaves the tree"
rejected symlink_rel 10 10 - "leaves the tree"
rejected hardlink 10 10 - "hard link"
rejected device 10 10 - "device node"
rejected fifo 10 10 - "FIFO"
rejected setuid 10 10 - "setuid/setgid bit and the manifest does not allow it"
rejected many 4 100 - "more than the manifest's 4 entries"
rejected big 10 4000 - "over the manifest's 4000 unpacked bytes"
rejected bomb 10 $((8 << 20)) - "over the ratio limit of 1000"
ok "every hardening rule holds for validly signed bundles"

# The ratio is also checked up front from the signed numbers: refused before any staging.
sed -i "s|^identity:|max_unpack_ratio: 10\nidentity:|" "$T/update.yaml"
app "$T/y1" 50 big 10 $((1 << 20)) -
expect_rc 1 U apply "$T/y1"
expect_contains "$T/err" "over the ratio limit of 10"
[ "$(snapshot)" = "$base" ] || fail "ratio refusal changed state"
ok "a manifest claiming more than max_unpack_ratio is refused before staging"

app "$T/y2" 51 setuid 10 10 setuid
expect_rc 0 U apply "$T/y2"
[ "$(stat -c %a "$T/inst/sw/app/current/su")" = 4755 ] || fail "setuid not kept with the flag"
ok "setuid is installed when the signed manifest declares it"
