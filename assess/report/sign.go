package report

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/bankguard/bankguard/httpsig"
)

// SigFile is the name of the signature manifest Sign writes next to the
// reports.
const SigFile = "report.sig.json"

// manifestHeader starts the signed text of every manifest; it names the
// manifest's version.
const manifestHeader = "bankguard-report-signature/v1"

// Manifest lists the report files of a directory with their SM3 digests and
// carries a signature over that list, so that a regulator can tell that the
// files are the ones the assessor signed.
type Manifest struct {
	// Schema is manifestHeader.
	Schema string `json:"schema"`
	// Files are the signed files, by name.
	Files []FileDigest `json:"files"`
	// Signed is when the manifest was signed.
	Signed time.Time `json:"signed"`
	// KeyID names the signing key; Alg is its algorithm (sm2-sm3).
	KeyID string `json:"keyid"`
	Alg   string `json:"alg"`
	// Signature is over SignedText; base64 in JSON. For sm2-sm3 it is the
	// 64-byte r‖s with the default distinguishing ID, as in CONTRACT.md §2.
	Signature []byte `json:"signature"`
}

// FileDigest is one signed file.
type FileDigest struct {
	// Name is the file's base name in the report directory.
	Name string `json:"name"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// SM3 is the hex SM3 digest (GB/T 32905) of its content.
	SM3 string `json:"sm3"`
}

// SignedText is the canonical text the signature covers:
//
//	bankguard-report-signature/v1
//	<keyid>
//	<alg>
//	<RFC 3339 signing time, UTC>
//	<sm3 hex> <size> <name>     (one line per file, sorted by name)
func (m *Manifest) SignedText() []byte {
	var b bytes.Buffer
	b.WriteString(manifestHeader + "\n")
	b.WriteString(m.KeyID + "\n")
	b.WriteString(m.Alg + "\n")
	b.WriteString(m.Signed.UTC().Format(time.RFC3339Nano) + "\n")
	for _, f := range m.Files {
		b.WriteString(f.SM3 + " " + strconv.FormatInt(f.Size, 10) + " " + f.Name + "\n")
	}
	return b.Bytes()
}

// ErrBadSignature reports a manifest whose signature does not verify.
var ErrBadSignature = errors.New("report: the signature of " + SigFile + " is not valid")

// Sign writes dir/report.sig.json: a manifest of the given files (base
// names, SM3 digests, sizes), the signing time, keyid and alg, and a
// signature by s over the manifest's SignedText. files are base names or
// paths inside dir, such as the paths Write returns. s should be an SM2
// signer (httpsig.NewSigner(httpsig.AlgSM2SM3, key)); symmetric algorithms
// are refused, since a third party could not verify them. It returns the
// manifest's path.
func Sign(dir string, files []string, keyID string, s httpsig.Signer, now time.Time) (string, error) {
	if s == nil || httpsig.Symmetric(s.Alg()) {
		return "", errors.New("report: signing needs an asymmetric key (sm2-sm3)")
	}
	if keyID == "" || strings.ContainsAny(keyID, "\r\n") {
		return "", errors.New("report: signing needs a keyid on one line")
	}
	names, err := fileNames(dir, files)
	if err != nil {
		return "", err
	}
	m := &Manifest{Schema: manifestHeader, Signed: now.UTC(), KeyID: keyID, Alg: s.Alg()}
	for _, name := range names {
		d, err := digest(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("report: sign %s: %w", name, err)
		}
		d.Name = name
		m.Files = append(m.Files, d)
	}
	if m.Signature, err = s.Sign(m.SignedText()); err != nil {
		return "", fmt.Errorf("report: sign: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, SigFile)
	err = writeFile(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("report: write %s: %w", SigFile, err)
	}
	return path, nil
}

// fileNames turns the files to sign into sorted, distinct base names of
// files in dir.
func fileNames(dir string, files []string) ([]string, error) {
	if len(files) == 0 {
		return nil, errors.New("report: no files to sign")
	}
	var names []string
	for _, f := range files {
		name := filepath.Base(f)
		if d := filepath.Dir(f); d != "." && filepath.Clean(d) != filepath.Clean(dir) {
			return nil, fmt.Errorf("report: %s is not in %s", f, dir)
		}
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		if name == SigFile {
			return nil, fmt.Errorf("report: %s cannot sign itself", SigFile)
		}
		if slices.Contains(names, name) {
			return nil, fmt.Errorf("report: %s is listed twice", name)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// checkName accepts a plain file name: no directory, no line break.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\r\n") {
		return fmt.Errorf("%q is not a file name", name)
	}
	return nil
}

// digest returns a file's size and SM3 digest.
func digest(path string) (FileDigest, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileDigest{}, err
	}
	defer f.Close()
	h := sm3.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileDigest{}, err
	}
	return FileDigest{Size: n, SM3: hex.EncodeToString(h.Sum(nil))}, nil
}

// Verify reads dir/report.sig.json, checks its signature with v and then
// every listed file's size and SM3 digest. The error names the first file
// that is missing or changed, or says that the signature is not valid
// (wrapping ErrBadSignature). On success it returns the manifest.
func Verify(dir string, v httpsig.Verifier) (*Manifest, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if v == nil || m.Alg != v.Alg() {
		return nil, fmt.Errorf("%w: it is signed with %q, not with the given key's algorithm", ErrBadSignature, m.Alg)
	}
	if err := v.Verify(m.SignedText(), m.Signature); err != nil {
		return nil, fmt.Errorf("%w (keyid %s)", ErrBadSignature, m.KeyID)
	}
	for _, f := range m.Files {
		if err := checkFile(dir, f); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readManifest reads and sanity-checks the manifest file.
func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, SigFile))
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("report: %s is not a signature manifest: %w", SigFile, err)
	}
	if m.Schema != manifestHeader {
		return nil, fmt.Errorf("report: %s has schema %q, want %q", SigFile, m.Schema, manifestHeader)
	}
	if len(m.Files) == 0 {
		return nil, fmt.Errorf("report: %s lists no files", SigFile)
	}
	for _, f := range m.Files {
		if err := checkName(f.Name); err != nil {
			return nil, fmt.Errorf("report: %s: %w", SigFile, err)
		}
	}
	return &m, nil
}

// checkFile compares a file with its manifest entry.
func checkFile(dir string, want FileDigest) error {
	got, err := digest(filepath.Join(dir, want.Name))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("report: %s is missing", want.Name)
	}
	if err != nil {
		return fmt.Errorf("report: %s: %w", want.Name, err)
	}
	if got.Size != want.Size || got.SM3 != want.SM3 {
		return fmt.Errorf("report: %s has changed since it was signed (its SM3 digest differs from the manifest)", want.Name)
	}
	return nil
}
