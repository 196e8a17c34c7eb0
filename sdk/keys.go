package sdk

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

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
		if !k.NotAfter.IsZero() && now.After(k.NotAfter) {
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: fetch bank keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sdk: fetch bank keys: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("sdk: fetch bank keys: %w", err)
	}
	return ParseBankKeys(b, time.Now())
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
