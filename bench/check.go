package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"

	"github.com/bankguard/bankguard/sdk"
)

// Check makes sure the three targets do what the benchmark claims before it
// measures them: each answers the backend's body; the gateway refuses an
// unsigned request; the A2 response carries a bank signature that verifies and
// the A1 response carries none. It returns the negotiated TLS version and
// cipher suite.
func (e *Env) Check(ctx context.Context, hc *http.Client) (string, error) {
	// (a) the baseline.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.BaselineURL+A1Path, nil)
	if err != nil {
		return "", err
	}
	resp, body, err := send(hc, req)
	if err != nil {
		return "", fmt.Errorf("check baseline: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, backendBody) {
		return "", fmt.Errorf("check baseline: status %d, body of %d bytes", resp.StatusCode, len(body))
	}
	tlsUsed := tls.VersionName(resp.TLS.Version) + " " + tls.CipherSuiteName(resp.TLS.CipherSuite)

	// The gateway refuses what is not signed.
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, e.GatewayURL+A1Path, nil)
	if resp, _, err = send(hc, req); err != nil {
		return "", fmt.Errorf("check unsigned: %w", err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return "", fmt.Errorf("check unsigned: status %d, want 401", resp.StatusCode)
	}

	keys, err := sdk.FetchBankKeys(ctx, hc, e.GatewayURL+sdk.KeysPath)
	if err != nil {
		return "", fmt.Errorf("check: %w", err)
	}
	for _, c := range []struct {
		client *sdk.Client
		path   string
		a2     bool
	}{{e.A1, A1Path, false}, {e.A2, A2Path, true}} {
		cl := *c.client
		cl.HTTP, cl.BankKeys, cl.RequireBankSignature = hc, keys, c.a2
		req, err := sdk.NewRequest(ctx, http.MethodGet, e.GatewayURL+c.path, nil)
		if err != nil {
			return "", err
		}
		r, err := cl.Do(req)
		if err != nil {
			return "", fmt.Errorf("check %s: %w", c.path, err)
		}
		switch {
		case r.StatusCode != http.StatusOK:
			return "", fmt.Errorf("check %s: status %d: %s", c.path, r.StatusCode, r.Body)
		case !bytes.Equal(r.Body, backendBody):
			return "", fmt.Errorf("check %s: the body is not the backend's", c.path)
		case c.a2 && r.BankSignature == nil, !c.a2 && r.BankSignature != nil:
			return "", fmt.Errorf("check %s: bank signature present = %v, want %v", c.path, r.BankSignature != nil, c.a2)
		}
	}
	return tlsUsed, nil
}

func send(hc *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}
