package sdk

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/httpsig"
)

// KeySet holds the bank's response-signing public keys by keyid.
type KeySet map[string]httpsig.Verifier

// KeysPath is where bankguard publishes the bank's keys.
const KeysPath = "/.well-known/bankguard/keys"

type keyDocument struct {
	Keys []struct {
		KeyID        string    `json:"keyid"`
		Alg          string    `json:"alg"`
		PublicKeyPEM string    `json:"public_key_pem"`
		NotBefore    time.Time `json:"not_before"`
		NotAfter     time.Time `json:"not_after"`
	} `json:"keys"`
}

// ParseBankKeys reads the key document served at KeysPath, keeping the keys
// not expired at now.
func ParseBankKeys(doc []byte, now time.Time) (KeySet, error) {
	var d keyDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("sdk: bank key document: %w", err)
	}
	ks := KeySet{}
	for _, k := range d.Keys {
		if !k.NotAfter.IsZero() && now.After(k.NotAfter) || k.Alg == fieldcrypt.KeyAlg {
			continue
		}
		pub, err := httpsig.ParsePublicKeyPEM([]byte(k.PublicKeyPEM))
		if err != nil {
			return nil, fmt.Errorf("sdk: bank key %s: %w", k.KeyID, err)
		}
		v, err := httpsig.NewVerifier(k.Alg, pub)
		if err != nil {
			return nil, fmt.Errorf("sdk: bank key %s: %w", k.KeyID, err)
		}
		ks[k.KeyID] = v
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("sdk: bank key document holds no valid key")
	}
	return ks, nil
}

// FetchBankKeys downloads and parses the bank's key document from url. The
// client must verify the bank's TLS certificate: the keys are only as
// trustworthy as the connection they came over.
func FetchBankKeys(ctx context.Context, hc *http.Client, url string) (KeySet, error) {
	b, err := fetchDocument(ctx, hc, url)
	if err != nil {
		return nil, err
	}
	return ParseBankKeys(b, time.Now())
}

func fetchDocument(ctx context.Context, hc *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sdk: fetch %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("sdk: fetch %s: %w", url, err)
	}
	return b, nil
}

// EncryptionKeysPath is where bankguard publishes the bank's encryption keys.
const EncryptionKeysPath = "/.well-known/bankguard/encryption-keys"

// EncryptionKey is one of the bank's SM2 encryption keys.
type EncryptionKey struct {
	ID        string
	Key       *ecdsa.PublicKey
	NotBefore time.Time
	NotAfter  time.Time
}

// EncryptionKeys are the bank's encryption keys, to which sensitive inputs
// (payment passwords) are sealed.
type EncryptionKeys []EncryptionKey

// ParseEncryptionKeys reads the document served at EncryptionKeysPath.
func ParseEncryptionKeys(doc []byte) (EncryptionKeys, error) {
	var d keyDocument
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("sdk: encryption key document: %w", err)
	}
	var out EncryptionKeys
	for _, k := range d.Keys {
		if k.Alg != fieldcrypt.KeyAlg {
			continue
		}
		pub, err := httpsig.ParsePublicKeyPEM([]byte(k.PublicKeyPEM))
		if err != nil {
			return nil, fmt.Errorf("sdk: encryption key %s: %w", k.KeyID, err)
		}
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("sdk: encryption key %s is not an SM2 key", k.KeyID)
		}
		out = append(out, EncryptionKey{ID: k.KeyID, Key: ek, NotBefore: k.NotBefore, NotAfter: k.NotAfter})
	}
	return out, nil
}

// FetchEncryptionKeys downloads the bank's encryption keys from url over a
// client that verifies the bank's TLS certificate.
func FetchEncryptionKeys(ctx context.Context, hc *http.Client, url string) (EncryptionKeys, error) {
	b, err := fetchDocument(ctx, hc, url)
	if err != nil {
		return nil, err
	}
	return ParseEncryptionKeys(b)
}

// Seal encrypts a sensitive input (a payment password) to the bank's newest
// encryption key valid at now: "sm2:v1:<keyid>:<ciphertext>". Seal each value
// afresh, for every request.
func (ks EncryptionKeys) Seal(value []byte, now time.Time) (string, error) {
	var best *EncryptionKey
	for i := range ks {
		k := &ks[i]
		if now.Before(k.NotBefore) || !now.Before(k.NotAfter) {
			continue
		}
		if best == nil || k.NotBefore.After(best.NotBefore) {
			best = k
		}
	}
	if best == nil {
		return "", errors.New("sdk: the bank has no encryption key valid now")
	}
	return fieldcrypt.SealValue(value, best.Key, best.ID)
}

// LoadSigner reads an app's signing credential: an HMAC key (base64) from
// secretFile, or a PEM private key from privateKeyFile.
func LoadSigner(alg, secretFile, privateKeyFile string) (httpsig.Signer, error) {
	if httpsig.Symmetric(alg) {
		b, err := os.ReadFile(secretFile)
		if err != nil {
			return nil, fmt.Errorf("sdk: secret: %w", err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("sdk: secret file %s is not base64", secretFile)
		}
		return httpsig.NewSigner(alg, key)
	}
	b, err := os.ReadFile(privateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("sdk: private key: %w", err)
	}
	key, err := httpsig.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("sdk: private key %s: %w", privateKeyFile, err)
	}
	return httpsig.NewSigner(alg, key)
}
