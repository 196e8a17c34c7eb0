package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/bankguard/bankguard/audit"
	"github.com/bankguard/bankguard/node"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/sdk"
	"github.com/bankguard/bankguard/store/sqlite"
)

// Check makes sure the targets do what the benchmark claims before it
// measures them: the baseline and the node with audit and masking off answer
// the backend's body unchanged, the node answers it masked; the nodes refuse
// an unsigned request; the A2 response carries a bank signature that
// verifies and the A1 responses carry none; every signed request to the node
// leaves one audit record, and none to the node with audit off leaves any.
// It returns the negotiated TLS version and cipher suite.
func (e *Env) Check(ctx context.Context, hc *http.Client) (string, error) {
	masked, err := maskedBody()
	if err != nil {
		return "", err
	}
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

	// The nodes refuse what is not signed.
	for _, base := range []string{e.GatewayURL, e.GatewayOffURL} {
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+A1Path, nil)
		if resp, _, err = send(hc, req); err != nil {
			return "", fmt.Errorf("check unsigned: %w", err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return "", fmt.Errorf("check unsigned: status %d, want 401", resp.StatusCode)
		}
	}

	keys, err := sdk.FetchBankKeys(ctx, hc, e.GatewayURL+sdk.KeysPath)
	if err != nil {
		return "", fmt.Errorf("check: %w", err)
	}
	for _, c := range []struct {
		target  string
		client  *sdk.Client
		url     string
		a2, off bool
	}{
		{"b", e.A1, e.GatewayURL + A1Path, false, false},
		{"c", e.A2, e.GatewayURL + A2Path, true, false},
		{"d", e.A1, e.GatewayOffURL + A1Path, false, true},
	} {
		want, records := masked, 1
		if c.off {
			want, records = backendBody, 0
		}
		before, err := e.auditRecords(ctx, c.off)
		if err != nil {
			return "", err
		}
		cl := *c.client
		cl.HTTP, cl.BankKeys, cl.RequireBankSignature = hc, keys, c.a2
		req, err := sdk.NewRequest(ctx, http.MethodGet, c.url, nil)
		if err != nil {
			return "", err
		}
		r, err := cl.Do(req)
		if err != nil {
			return "", fmt.Errorf("check (%s): %w", c.target, err)
		}
		after, err := e.auditRecords(ctx, c.off)
		if err != nil {
			return "", err
		}
		switch {
		case r.StatusCode != http.StatusOK:
			return "", fmt.Errorf("check (%s): status %d: %s", c.target, r.StatusCode, r.Body)
		case !bytes.Equal(r.Body, want):
			return "", fmt.Errorf("check (%s): the body is not the backend's, masked = %v: %s", c.target, !c.off, r.Body)
		case c.a2 && r.BankSignature == nil, !c.a2 && r.BankSignature != nil:
			return "", fmt.Errorf("check (%s): bank signature present = %v, want %v", c.target, r.BankSignature != nil, c.a2)
		case after-before != uint64(records):
			return "", fmt.Errorf("check (%s): %d audit records written, want %d", c.target, after-before, records)
		}
	}
	return tlsUsed, nil
}

// maskedBody is backendBody as a masking gateway must answer it: masked by
// the detectors and member-name hints, with none of its personal data left.
func maskedBody() ([]byte, error) {
	e, err := pii.NewEngine(make([]byte, pii.MinKeyLen)) // masks do not depend on the key
	if err != nil {
		return nil, err
	}
	out, n, err := e.MaskJSON(backendBody, &pii.Policy{Scan: true})
	if err != nil {
		return nil, err
	}
	for _, v := range []string{benchCard, benchHolder, benchMobile, benchIDNumber} {
		if bytes.Contains(out, []byte(v)) {
			return nil, fmt.Errorf("check: masking leaves %s in the backend's body", v)
		}
	}
	if n != 4 {
		return nil, fmt.Errorf("check: masking changes %d values of the backend's body, want 4", n)
	}
	return out, nil
}

// auditRecords counts the records in the audit log of the node (with off,
// of the node with audit off), reading its store as `bankguard audit verify`
// does while the node runs.
func (e *Env) auditRecords(ctx context.Context, off bool) (n uint64, err error) {
	cfg, err := nodeConfig(e.Dir, e.BackendURL, off)
	if err != nil {
		return 0, err
	}
	st, err := sqlite.OpenAudit(ctx, filepath.Join(cfg.Path(cfg.DataDir), node.AuditDatabaseFile))
	if err != nil {
		return 0, fmt.Errorf("check: %w", err)
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	for _, log := range audit.Logs {
		size, err := st.Size(ctx, log)
		if err != nil {
			return 0, fmt.Errorf("check: %w", err)
		}
		n += size
	}
	return n, nil
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
