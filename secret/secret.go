// Package secret seals secrets at rest (HMAC keys, later token keys) with
// SM4-GCM under a master key that comes from the environment or a key file
// with 0600 permissions, never from the configuration file.
//
// Key management: T/PCAC 0008-2020 3.3.4 and 9.2.2.
package secret

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// EnvVar is the environment variable that may hold the master key (hex).
const EnvVar = "BANKGUARD_MASTER_KEY"

// MasterKeySize is the size of a master key in bytes.
const MasterKeySize = 32

const sealPrefix = "sm4gcm:v1:"

// ErrOpen is returned when a sealed value cannot be opened: wrong master key,
// altered ciphertext, or a value moved to another record.
var ErrOpen = errors.New("secret: cannot open sealed value (wrong master key or altered data)")

// MasterKey seals and opens secrets. Sub-keys for other purposes are derived
// from it with HKDF-SM3, so one master key protects the whole data directory.
type MasterKey struct {
	raw  []byte
	aead cipher.AEAD
	id   string
}

// NewMasterKey makes a MasterKey from 32 raw bytes.
func NewMasterKey(raw []byte) (*MasterKey, error) {
	if len(raw) != MasterKeySize {
		return nil, fmt.Errorf("secret: master key must be %d bytes, have %d", MasterKeySize, len(raw))
	}
	k := &MasterKey{raw: append([]byte(nil), raw...)}
	sealKey, err := k.Derive("bankguard seal v1", 16)
	if err != nil {
		return nil, err
	}
	block, err := sm4.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	idKey, err := k.Derive("bankguard key id v1", 4)
	if err != nil {
		return nil, err
	}
	k.id = hex.EncodeToString(idKey)
	return k, nil
}

// ID is a short, non-secret fingerprint of the key, stored beside sealed
// values so a wrong key is named as such.
func (k *MasterKey) ID() string { return k.id }

// Derive returns a sub-key of n bytes for purpose (HKDF-SM3).
func (k *MasterKey) Derive(purpose string, n int) ([]byte, error) {
	return hkdf.Key(sm3.New, k.raw, nil, purpose, n)
}

// Seal encrypts plaintext. aad binds the result to its record (for example
// "credential:KEYID"): opening it under another aad fails.
func (k *MasterKey) Seal(plaintext []byte, aad string) string {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	out := k.aead.Seal(nonce, nonce, plaintext, []byte(aad))
	return sealPrefix + k.id + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same aad.
func (k *MasterKey) Open(sealed, aad string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, errors.New("secret: value is not sealed")
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("secret: sealed value is malformed")
	}
	if id != k.id {
		return nil, fmt.Errorf("secret: value was sealed under master key %s, this is %s", id, k.id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(data)
	if err != nil || len(raw) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, errors.New("secret: sealed value is malformed")
	}
	n := k.aead.NonceSize()
	pt, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Load returns the master key from the environment variable BANKGUARD_MASTER_KEY
// if it is set, else from file. The file must not be readable by group or others.
func Load(file string) (*MasterKey, error) {
	if v, ok := os.LookupEnv(EnvVar); ok {
		raw, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("secret: %s: %w", EnvVar, err)
		}
		return NewMasterKey(raw)
	}
	if file == "" {
		return nil, fmt.Errorf("secret: no master key: set %s or master_key_file", EnvVar)
	}
	return LoadFile(file)
}

// LoadFile reads a master key file (hex), refusing one that group or others can read.
func LoadFile(path string) (*MasterKey, error) {
	b, err := ReadPrivateFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := decodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret: master key file %s: %w", path, err)
	}
	return NewMasterKey(raw)
}

// ReadPrivateFile reads a file holding a secret or a private key, refusing
// it if group or others have any access to it.
func ReadPrivateFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secret: %s has mode %04o: group and others must have no access (chmod 600 %s)", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return b, nil
}

// Generate writes a new random master key to path with mode 0600. It never
// overwrites an existing file.
func Generate(path string) (*MasterKey, error) {
	raw := make([]byte, MasterKeySize)
	_, _ = rand.Read(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("secret: %s exists; refusing to overwrite a master key", path)
		}
		return nil, fmt.Errorf("secret: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return NewMasterKey(raw)
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != MasterKeySize {
		return nil, fmt.Errorf("want %d hex characters (%d bytes)", 2*MasterKeySize, MasterKeySize)
	}
	return raw, nil
}
