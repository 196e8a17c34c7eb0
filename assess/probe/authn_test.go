package probe_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/probe"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/profile"
)

// authnIDs are the ids of the checks in authn.go and signature.go.
func authnIDs() []string {
	var ids []string
	for _, m := range authnMutants {
		if !slices.Contains(ids, m.check) {
			ids = append(ids, m.check)
		}
	}
	return ids
}

// TestAuthnNotTested: a profile that lacks what a check needs gives
// not_tested naming what is missing, never pass.
func TestAuthnNotTested(t *testing.T) {
	d := startDemo(t)
	tests := []struct {
		name   string
		change func(*profile.Profile)
		checks []string
		reason string
	}{
		{"no endpoints", func(p *profile.Profile) { p.Endpoints = profile.Endpoints{} }, authnIDs(), "endpoints.a"},
		{"transfer without body", func(p *profile.Profile) { p.Endpoints.A2Transfer.Body = nil },
			[]string{"signature.tampered-body", "signature.tampered-header", "signature.missing-digest"}, "a2_transfer has no body"},
		{"no HMAC-only app", func(p *profile.Profile) {
			for i, a := range p.Apps {
				if httpsig.Symmetric(a.Credentials[0].Alg) {
					p.Apps[i].Status = "suspended"
				}
			}
		}, []string{"level.a2-secret-only"}, "HMAC"},
		{"no client certificate", func(p *profile.Profile) {
			for i := range p.Apps {
				p.Apps[i].ClientCert, p.Apps[i].ClientKey = "", ""
			}
		}, []string{"level.a2-client-certificate"}, "client_cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := d.LoadProfile()
			if err != nil {
				t.Fatal(err)
			}
			tt.change(p)
			results := runChecks(t, p, tt.checks...)
			for _, id := range tt.checks {
				r := results[id]
				if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, tt.reason) {
					t.Errorf("%s: %s (%s), want not_tested naming %q", id, r.Verdict, r.Reason, tt.reason)
				}
			}
		})
	}
}

// TestAuthnGoodRequestRefused: when the target refuses even the correctly
// signed control, a refusal of the bad request proves nothing: not_tested.
func TestAuthnGoodRequestRefused(t *testing.T) {
	p, err := startDemo(t).LoadProfile()
	if err != nil {
		t.Fatal(err)
	}
	p.Endpoints.A1Read.Path = "/v1/bankguard-no-such-api"
	p.Endpoints.A2Read.Path = "/v1/bankguard-no-such-api"
	controlled := []string{"signature.unsigned", "signature.unknown-app", "signature.wrong-key",
		"signature.tampered-query", "signature.stale", "signature.replay", "level.a2-secret-only",
		"level.a2-client-certificate", "response.signature"}
	results := runChecks(t, p, controlled...)
	for _, id := range controlled {
		r := results[id]
		if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "404") || len(r.Evidence) == 0 {
			t.Errorf("%s: %s (%s) with %d exchanges, want not_tested citing the control's 404", id, r.Verdict, r.Reason, len(r.Evidence))
		}
	}
}

// TestAuthnUnreachable: a target that cannot be reached gives error.
func TestAuthnUnreachable(t *testing.T) {
	p, err := startDemo(t).LoadProfile()
	if err != nil {
		t.Fatal(err)
	}
	p.Target.BaseURL = "https://127.0.0.1:1"
	for id, r := range runChecks(t, p, authnIDs()...) {
		if r.Verdict != assess.Error {
			t.Errorf("%s: %s (%s), want error", id, r.Verdict, r.Reason)
		}
	}
}

// TestAuthnEvidenceHidesSignatures: reasons and transcripts of the intact
// demo carry no signature value and no secret.
func TestAuthnEvidenceHidesSignatures(t *testing.T) {
	results := runChecks(t, startDemo(t).Profile, authnIDs()...)
	for id, r := range results {
		if len(r.Evidence) == 0 {
			t.Errorf("%s: no evidence", id)
		}
		for _, e := range r.Evidence {
			for _, text := range []string{e.Request, e.Response} {
				for _, line := range strings.Split(text, "\n") {
					if strings.HasPrefix(line, "Signature:") && line != "Signature: "+probe.Redacted {
						t.Errorf("%s: evidence %q shows a signature: %s", id, e.Title, line)
					}
				}
			}
		}
		if strings.Contains(r.Reason, "Signature: ") || strings.Contains(r.Reason, ":=") {
			t.Errorf("%s: reason looks like it quotes a field value: %s", id, r.Reason)
		}
	}
}
