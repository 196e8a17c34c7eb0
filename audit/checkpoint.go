package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/bankguard/bankguard/httpsig"
)

// checkpointHeader starts the signed text of every checkpoint.
const checkpointHeader = "bankguard-audit/v1"

// Checkpoint fixes the root of a log's tree at a size, signed by the audit key.
type Checkpoint struct {
	Log       string    `json:"log"`
	Size      uint64    `json:"size"`
	Root      []byte    `json:"root"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"keyid"`
	Alg       string    `json:"alg"`
	Signature []byte    `json:"signature"`
}

// SignedText is what the signature covers:
//
//	bankguard-audit/v1
//	<log>
//	<size>
//	<base64 root>
//	<hash alg>
//	<RFC 3339 time>
func (c *Checkpoint) SignedText() []byte {
	var b bytes.Buffer
	b.WriteString(checkpointHeader + "\n")
	b.WriteString(c.Log + "\n")
	b.WriteString(strconv.FormatUint(c.Size, 10) + "\n")
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root) + "\n")
	b.WriteString(c.Hash + "\n")
	b.WriteString(c.Time.UTC().Format(time.RFC3339Nano) + "\n")
	return b.Bytes()
}

// Sign signs the checkpoint with the audit key.
func (c *Checkpoint) Sign(keyID string, s httpsig.Signer) error {
	c.KeyID, c.Alg = keyID, s.Alg()
	sig, err := s.Sign(c.SignedText())
	if err != nil {
		return fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	c.Signature = sig
	return nil
}

// KeySet is the audit public keys by keyid.
type KeySet map[string]httpsig.Verifier

// ErrBadSignature reports a checkpoint whose signature does not verify.
var ErrBadSignature = errors.New("audit: checkpoint signature does not verify")

// Verify checks the checkpoint's signature with the audit keys.
func (c *Checkpoint) Verify(keys KeySet) error {
	v, ok := keys[c.KeyID]
	if !ok {
		return fmt.Errorf("%w: unknown audit key %q", ErrBadSignature, c.KeyID)
	}
	if c.Alg != v.Alg() {
		return fmt.Errorf("%w: alg %q is not the key's", ErrBadSignature, c.Alg)
	}
	if err := v.Verify(c.SignedText(), c.Signature); err != nil {
		return fmt.Errorf("%w (log %s, size %d)", ErrBadSignature, c.Log, c.Size)
	}
	return nil
}

// witnessName is a checkpoint's file name in the witness directory.
func witnessName(c *Checkpoint) string {
	return fmt.Sprintf("%s-%020d.json", c.Log, c.Size)
}

// WriteWitness writes the checkpoint to dir (the witness copy), durably.
// Files are never overwritten: a checkpoint for a size is written once.
func WriteWitness(dir string, c *Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, witnessName(c))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: witness: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("audit: witness: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit: witness: %w", err)
	}
	return f.Close()
}

// ReadWitness reads every checkpoint of log in dir, by size.
func ReadWitness(dir, log string) ([]Checkpoint, error) {
	names, err := filepath.Glob(filepath.Join(dir, log+"-*.json"))
	if err != nil {
		return nil, err
	}
	var out []Checkpoint
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("audit: witness: %w", err)
		}
		var c Checkpoint
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("audit: witness %s: %w", filepath.Base(name), err)
		}
		if c.Log != log {
			return nil, fmt.Errorf("audit: witness %s: belongs to log %q", filepath.Base(name), c.Log)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Size < out[j].Size })
	return out, nil
}
