package report

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/httpsig"
)

// sm2Pair returns an SM2 signer and its verifier, through PEM as a
// deployment would load them.
func sm2Pair(t *testing.T) (httpsig.Signer, httpsig.Verifier) {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, err := httpsig.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := httpsig.MarshalPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := httpsig.ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := httpsig.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpsig.NewSigner(httpsig.AlgSM2SM3, priv)
	if err != nil {
		t.Fatal(err)
	}
	v, err := httpsig.NewVerifier(httpsig.AlgSM2SM3, pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

var signedAt = time.Date(2026, 3, 2, 8, 2, 0, 0, time.FixedZone("CST", 8*3600))

// signedDir writes and signs the fixed report's files into a new directory.
func signedDir(t *testing.T, s httpsig.Signer) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	paths, err := Write(dir, sampleReport(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(dir, paths, "assessor-2026", s, signedAt); err != nil {
		t.Fatal(err)
	}
	return dir, paths
}

func TestSignVerify(t *testing.T) {
	s, v := sm2Pair(t)
	dir, paths := signedDir(t, s)
	m, err := Verify(dir, v)
	if err != nil {
		t.Fatalf("a freshly signed report does not verify: %v", err)
	}
	if len(m.Files) != len(paths) || m.KeyID != "assessor-2026" || m.Alg != httpsig.AlgSM2SM3 || !m.Signed.Equal(signedAt) {
		t.Errorf("manifest: %+v", m)
	}
	for _, f := range m.Files {
		fi, err := os.Stat(filepath.Join(dir, f.Name))
		if err != nil || fi.Size() != f.Size || len(f.SM3) != 64 {
			t.Errorf("entry %+v does not describe the file (%v)", f, err)
		}
	}
}

func TestVerifyDetectsChanges(t *testing.T) {
	s, v := sm2Pair(t)
	other, _ := sm2Pair(t)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
		bad    bool // the error wraps ErrBadSignature
	}{
		{"one byte of a file changed", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "report.junit.xml"), 100)
		}, "report.junit.xml has changed", false},
		{"a byte appended", func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, "report.sarif"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(" ")
			f.Close()
		}, "report.sarif has changed", false},
		{"a file deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "report.html")); err != nil {
				t.Fatal(err)
			}
		}, "report.html is missing", false},
		{"signed by another key", func(t *testing.T, dir string) {
			paths, _ := filepath.Glob(filepath.Join(dir, "report.*"))
			var files []string
			for _, p := range paths {
				if filepath.Base(p) != SigFile {
					files = append(files, p)
				}
			}
			if _, err := Sign(dir, files, "assessor-2026", other, signedAt); err != nil {
				t.Fatal(err)
			}
		}, "is not valid", true},
		{"a digest in the manifest edited to match an edited file", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "report.json"), 10)
			d, err := digest(filepath.Join(dir, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			editManifest(t, dir, func(m *Manifest) {
				for i := range m.Files {
					if m.Files[i].Name == "report.json" {
						m.Files[i].SM3 = d.SM3
					}
				}
			})
		}, "is not valid", true},
		{"a file dropped from the manifest", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Files = m.Files[1:] })
		}, "is not valid", true},
		{"the signing time edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Signed = m.Signed.Add(time.Hour) })
		}, "is not valid", true},
		{"the algorithm edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { m.Alg = httpsig.AlgEd25519 })
		}, "is not valid", true},
		{"the manifest deleted", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, SigFile))
		}, SigFile, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := signedDir(t, s)
			tc.change(t, dir)
			_, err := Verify(dir, v)
			if err == nil {
				t.Fatal("the change was not detected")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if errors.Is(err, ErrBadSignature) != tc.bad {
				t.Errorf("error %q: wraps ErrBadSignature = %v, want %v", err, !tc.bad, tc.bad)
			}
		})
	}
}

func flipByte(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func editManifest(t *testing.T, dir string, edit func(*Manifest)) {
	t.Helper()
	path := filepath.Join(dir, SigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	if b, err = json.Marshal(&m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSignRefuses(t *testing.T) {
	s, _ := sm2Pair(t)
	hmac, err := httpsig.NewSigner(httpsig.AlgHMACSM3, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Write(dir, sampleReport(), []string{"json"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files []string
		keyID string
		s     httpsig.Signer
	}{
		{"a symmetric key", []string{"report.json"}, "k", hmac},
		{"no keyid", []string{"report.json"}, "", s},
		{"no files", nil, "k", s},
		{"a missing file", []string{"report.html"}, "k", s},
		{"a file outside dir", []string{"/etc/passwd"}, "k", s},
		{"the manifest itself", []string{SigFile}, "k", s},
		{"a file twice", []string{"report.json", filepath.Join(dir, "report.json")}, "k", s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Sign(dir, tc.files, tc.keyID, tc.s, signedAt); err == nil {
				t.Error("signed")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, SigFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused signing left %s behind", SigFile)
	}
}

// TestVerifyRejectsPathsInManifest refuses a manifest naming a file outside
// the directory, before reading it.
func TestVerifyRejectsPathsInManifest(t *testing.T) {
	s, v := sm2Pair(t)
	dir, _ := signedDir(t, s)
	editManifest(t, dir, func(m *Manifest) { m.Files[0].Name = "../../etc/passwd" })
	if _, err := Verify(dir, v); err == nil || !strings.Contains(err.Error(), "not a file name") {
		t.Errorf("error %v", err)
	}
}
