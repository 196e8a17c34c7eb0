package profile

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/sdk"
)

// URL resolves a path or URL against the target's base URL.
func (p *Profile) URL(pathOrURL string) string {
	if strings.HasPrefix(pathOrURL, "https://") || strings.HasPrefix(pathOrURL, "http://") {
		return pathOrURL
	}
	return strings.TrimSuffix(p.Target.BaseURL, "/") + "/" + strings.TrimPrefix(pathOrURL, "/")
}

// TLSConfig is the TLS client configuration for the target, presenting the
// app's client certificate if it has one (app may be nil).
func (p *Profile) TLSConfig(app *App) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.Target.CACert != "" {
		pemBytes, err := os.ReadFile(p.Path(p.Target.CACert))
		if err != nil {
			return nil, fmt.Errorf("profile: target.ca_cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, errors.New("profile: target.ca_cert holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if app != nil && app.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(p.Path(app.ClientCert), p.Path(app.ClientKey))
		if err != nil {
			return nil, fmt.Errorf("profile: app %s client certificate: %w", app.AppID, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// HTTPClient is an HTTP client for the target as app (app may be nil).
func (p *Profile) HTTPClient(app *App) (*http.Client, error) {
	cfg, err := p.TLSConfig(app)
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a signed request is never replayed elsewhere
		},
	}, nil
}

// BankKeySet returns the bank's response keys: the pinned ones, or those
// fetched from the target over verified TLS.
func (p *Profile) BankKeySet(ctx context.Context, hc *http.Client) (sdk.KeySet, error) {
	if len(p.BankKeys.Pinned) > 0 {
		ks := sdk.KeySet{}
		for _, k := range p.BankKeys.Pinned {
			b, err := os.ReadFile(p.Path(k.PublicKeyFile))
			if err != nil {
				return nil, fmt.Errorf("profile: bank key %s: %w", k.KeyID, err)
			}
			pub, err := httpsig.ParsePublicKeyPEM(b)
			if err != nil {
				return nil, fmt.Errorf("profile: bank key %s: %w", k.KeyID, err)
			}
			if ks[k.KeyID], err = httpsig.NewVerifier(k.Alg, pub); err != nil {
				return nil, fmt.Errorf("profile: bank key %s: %w", k.KeyID, err)
			}
		}
		return ks, nil
	}
	u := p.BankKeys.URL
	if u == "" {
		u = sdk.KeysPath
	}
	return sdk.FetchBankKeys(ctx, hc, p.URL(u))
}

// Client returns an SDK client that signs as the app's first credential.
func (p *Profile) Client(ctx context.Context, appID string) (*sdk.Client, error) {
	app, ok := p.App(appID)
	if !ok {
		return nil, fmt.Errorf("profile: no app %q (apps: %s)", appID, strings.Join(p.appIDs(), ", "))
	}
	return p.ClientWith(ctx, app, app.Credentials[0])
}

// ClientWith returns an SDK client for app signing with cred.
func (p *Profile) ClientWith(ctx context.Context, app *App, cred Credential) (*sdk.Client, error) {
	signer, err := sdk.LoadSigner(cred.Alg, p.Path(cred.SecretFile), p.Path(cred.PrivateKeyFile))
	if err != nil {
		return nil, err
	}
	hc, err := p.HTTPClient(app)
	if err != nil {
		return nil, err
	}
	keys, err := p.BankKeySet(ctx, hc)
	if err != nil {
		return nil, err
	}
	c := &sdk.Client{HTTP: hc, KeyID: cred.KeyID, Signer: signer, BankKeys: keys}
	if app.EncryptionKey != "" {
		b, err := os.ReadFile(p.Path(app.EncryptionKey))
		if err != nil {
			return nil, fmt.Errorf("profile: app %s encryption key: %w", app.AppID, err)
		}
		priv, err := httpsig.ParsePrivateKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("profile: app %s encryption key: %w", app.AppID, err)
		}
		k, ok := priv.(*sm2.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("profile: app %s encryption key is not an SM2 key", app.AppID)
		}
		c.EncryptionKey = k
	}
	return c, nil
}

// EncryptionKeys fetches the bank's encryption keys, to seal sensitive inputs.
func (p *Profile) EncryptionKeys(ctx context.Context, hc *http.Client) (sdk.EncryptionKeys, error) {
	u := p.BankKeys.EncryptionURL
	if u == "" {
		u = sdk.EncryptionKeysPath
	}
	return sdk.FetchEncryptionKeys(ctx, hc, p.URL(u))
}

func (p *Profile) appIDs() []string {
	ids := make([]string, len(p.Apps))
	for i, a := range p.Apps {
		ids[i] = a.AppID
	}
	return ids
}
