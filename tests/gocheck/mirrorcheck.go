// mirrorcheck: an independent checker of exai-mirror's checkpoints and proofs, built only on
// Go's golang.org/x/mod/sumdb/note (signed notes, Ed25519, key ids) and sumdb/tlog (RFC 6962
// proofs). No code is shared with the C side. Built offline in CI from Debian's
// golang-golang-x-mod-dev: GO111MODULE=off GOPATH=/usr/share/gocode go build.
//
//	mirrorcheck checkpoint VKEY FILE    a checkpoint note verifies; prints "size root"
//	mirrorcheck inclusion VKEY FILE     a c2sp.org/tlog-proof@v1 inclusion proof verifies
//	mirrorcheck consistency VKEY FILE   an exai-mirror/consistency@v1 proof verifies
//
// Exit 0 when it verifies, 1 otherwise (with the reason on stderr). Parsing is strict: a
// file must be byte for byte what its parsed parts encode to, so no byte can change without
// a refusal (base64 with stray padding bits included).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var b64 = base64.StdEncoding.Strict()

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies a signed checkpoint note and requires it to be canonical.
func openCheckpoint(msg []byte, v note.Verifier) (checkpoint, error) {
	var c checkpoint
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return c, fmt.Errorf("checkpoint: %v", err)
	}
	if len(n.Sigs) != 1 {
		return c, errors.New("checkpoint: not exactly one signature")
	}
	// Byte for byte what note.Sign would make of the parsed text and signature.
	var canon bytes.Buffer
	canon.WriteString(n.Text)
	canon.WriteString("\n")
	fmt.Fprintf(&canon, "\u2014 %s %s\n", n.Sigs[0].Name, n.Sigs[0].Base64)
	sig, err := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	if err != nil || b64.EncodeToString(sig) != n.Sigs[0].Base64 || !bytes.Equal(canon.Bytes(), msg) {
		return c, errors.New("checkpoint: not in canonical form")
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return c, errors.New("checkpoint: the body is not origin, size, root")
	}
	c.origin = lines[0]
	if c.origin != v.Name() {
		return c, errors.New("checkpoint: the origin is not the key's name")
	}
	c.size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || c.size < 0 || strconv.FormatInt(c.size, 10) != lines[1] {
		return c, errors.New("checkpoint: bad tree size")
	}
	root, err := b64.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return c, errors.New("checkpoint: bad root hash")
	}
	copy(c.root[:], root)
	return c, nil
}

func parseHashes(lines []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, 0, len(lines))
	for _, l := range lines {
		b, err := b64.DecodeString(l)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("bad proof hash %q", l)
		}
		var h tlog.Hash
		copy(h[:], b)
		out = append(out, h)
	}
	return out, nil
}

func parseNum(line, key string) (int64, error) {
	if !strings.HasPrefix(line, key+" ") {
		return 0, fmt.Errorf("expected a %q line", key)
	}
	s := line[len(key)+1:]
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("bad %s %q", key, s)
	}
	return n, nil
}

func inclusion(data []byte, v note.Verifier) error {
	head, cp, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return errors.New("no checkpoint after the proof")
	}
	lines := strings.Split(string(head), "\n")
	if len(lines) < 3 || lines[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(lines[1], "extra ") {
		return errors.New("not a tlog-proof with extra data")
	}
	extra, err := b64.DecodeString(lines[1][6:])
	if err != nil || len(extra) <= 16 {
		return errors.New("extra: not base64 of a nonce and a payload")
	}
	index, err := parseNum(lines[2], "index")
	if err != nil {
		return err
	}
	proof, err := parseHashes(lines[3:])
	if err != nil {
		return err
	}
	c, err := openCheckpoint(cp, v)
	if err != nil {
		return err
	}
	// Leaf data = SHA-256(nonce || payload); RecordHash adds RFC 6962's 0x00 prefix.
	leaf := sha256.Sum256(extra)
	if err := tlog.CheckRecord(tlog.RecordProof(proof), c.size, c.root, index, tlog.RecordHash(leaf[:])); err != nil {
		return fmt.Errorf("inclusion of %d in %d: %v", index, c.size, err)
	}
	fmt.Printf("%d %d\n", index, c.size)
	return nil
}

func consistency(data []byte, v note.Verifier) error {
	head, rest, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return errors.New("no checkpoints after the proof")
	}
	lines := strings.Split(string(head), "\n")
	if len(lines) < 3 || lines[0] != "exai-mirror/consistency@v1" {
		return errors.New("not an exai-mirror/consistency@v1 proof")
	}
	old, err := parseNum(lines[1], "old")
	if err != nil {
		return err
	}
	nw, err := parseNum(lines[2], "new")
	if err != nil {
		return err
	}
	proof, err := parseHashes(lines[3:])
	if err != nil {
		return err
	}
	// Two notes: the first ends at its signature line, then an empty line, then the second.
	i := bytes.Index(rest, []byte("\n\n\u2014 "))
	if i < 0 {
		return errors.New("no first checkpoint")
	}
	j := bytes.Index(rest[i+2:], []byte("\n\n"))
	if j < 0 {
		return errors.New("no second checkpoint")
	}
	c1, err := openCheckpoint(rest[:i+2+j+1], v)
	if err != nil {
		return fmt.Errorf("old %v", err)
	}
	c2, err := openCheckpoint(rest[i+2+j+2:], v)
	if err != nil {
		return fmt.Errorf("new %v", err)
	}
	if c1.size != old || c2.size != nw {
		return errors.New("the checkpoints are not of the sizes the proof names")
	}
	if err := tlog.CheckTree(tlog.TreeProof(proof), nw, c2.root, old, c1.root); err != nil {
		return fmt.Errorf("consistency %d to %d: %v", old, nw, err)
	}
	fmt.Printf("%d %d\n", old, nw)
	return nil
}

func run() error {
	if len(os.Args) != 4 {
		return errors.New("usage: mirrorcheck checkpoint|inclusion|consistency VKEY FILE")
	}
	vkey, err := os.ReadFile(os.Args[2])
	if err != nil {
		return err
	}
	v, err := note.NewVerifier(strings.TrimSuffix(string(vkey), "\n"))
	if err != nil {
		return fmt.Errorf("vkey: %v", err)
	}
	data, err := os.ReadFile(os.Args[3])
	if err != nil {
		return err
	}
	switch os.Args[1] {
	case "checkpoint":
		c, err := openCheckpoint(data, v)
		if err != nil {
			return err
		}
		fmt.Printf("%d %s\n", c.size, c.root)
		return nil
	case "inclusion":
		return inclusion(data, v)
	case "consistency":
		return consistency(data, v)
	}
	return errors.New("unknown check " + os.Args[1])
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mirrorcheck:", err)
		os.Exit(1)
	}
}
