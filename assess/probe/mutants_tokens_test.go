package probe_test

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/assess/internal/weak"
	"github.com/bankguard/bankguard/assess/probe"
	"github.com/bankguard/bankguard/profile"
)

// tokenMutants are the mutants of the checks in tokens.go. Each switches off
// one refusal of the gateway's user-token stage; the revocation mutant makes
// the bank's RFC 7009 endpoint answer 200 and revoke nothing (RFC 7009 §2.2
// lets it answer 200 for any token, so only the next call can tell).
var tokenMutants = []mutant{
	{check: "token.missing", onDemo: assess.Pass, name: "calls for a user served without a token",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("token_missing")}},
	{check: "token.revoked", onDemo: assess.Pass, name: "revoked tokens accepted",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("token_revoked")}},
	{check: "token.revoked", onDemo: assess.Pass, name: "the revocation endpoint revokes nothing",
		mutation: weak.Mutation{Handle: tokenNoopRevocation}},
	{check: "token.other-app", onDemo: assess.Pass, name: "tokens not bound to their app",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("token_invalid")}},
	{check: "consent.once-reused", onDemo: assess.Pass, name: "one-time consents not consumed",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("token_revoked")}},
	{check: "transfer.one-factor", onDemo: assess.Pass, name: "transfers served on a one-factor token",
		mutation: weak.Mutation{Response: weak.AcceptRefusals("consent_missing", "second_factor_required")}},
}

// tokenBearer matches a bearer credential as an Authorization header would
// carry it (RFC 6750 b64token), not the gateway's "Bearer <token>" hint nor
// a WWW-Authenticate challenge.
var tokenBearer = regexp.MustCompile(`Bearer [A-Za-z0-9\-._~+/]{16,}`)

// tokenNoopRevocation answers the RFC 7009 revocation endpoint with 200 and
// an empty JSON object without forwarding the request.
func tokenNoopRevocation(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != "/oauth/revoke" {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("{}"))
	return true
}

// tokenIDs are the ids of the checks in tokens.go.
func tokenIDs() []string {
	var ids []string
	for _, m := range tokenMutants {
		if !slices.Contains(ids, m.check) {
			ids = append(ids, m.check)
		}
	}
	return ids
}

// TestTokenNotTested: a profile that lacks what a check needs gives
// not_tested naming the missing field, never pass.
func TestTokenNotTested(t *testing.T) {
	d := startDemo(t)
	read := []string{"token.missing", "token.revoked", "token.other-app", "consent.once-reused"}
	tests := []struct {
		name   string
		change func(*profile.Profile)
		checks []string
		reason string
	}{
		{"no user-bound read", func(p *profile.Profile) { p.Endpoints.A2Read, p.Endpoints.PersonalData = nil, nil },
			read, "endpoints.a2_read"},
		{"reads that act for no user", func(p *profile.Profile) {
			p.Endpoints.A2Read.User, p.Endpoints.PersonalData.User = "", ""
		}, read, "endpoints.a2_read"},
		{"no transfer", func(p *profile.Profile) { p.Endpoints.A2Transfer = nil },
			[]string{"transfer.one-factor"}, "endpoints.a2_transfer"},
		{"no user anywhere for the transfer", func(p *profile.Profile) {
			p.Endpoints.A2Transfer.User, p.Endpoints.A2Read, p.Endpoints.PersonalData = "", nil, nil
		}, []string{"transfer.one-factor"}, "endpoints.a2_transfer.user"},
		{"one A2 app", func(p *profile.Profile) {
			for i := range p.Apps {
				if p.Apps[i].Level == "A2" && p.Apps[i].AppID != p.Endpoints.A2Read.App {
					p.Apps[i].Status = "suspended"
				}
			}
		}, []string{"token.other-app"}, "apps[].redirect_uri"},
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
				r, ok := results[id]
				if !ok || r.Verdict != assess.NotTested || !strings.Contains(r.Reason, tt.reason) {
					t.Errorf("%s: %s (%s), want not_tested naming %q", id, r.Verdict, r.Reason, tt.reason)
				}
			}
		})
	}
}

// TestTokenGoodRequestRefused: when the call with a good token is refused,
// the refusal of a bad one proves nothing: not_tested citing the control.
func TestTokenGoodRequestRefused(t *testing.T) {
	p, err := startDemo(t).LoadProfile()
	if err != nil {
		t.Fatal(err)
	}
	p.Endpoints.A2Read.Path = "/v1/bankguard-no-such-api"
	controlled := []string{"token.missing", "token.revoked", "token.other-app", "consent.once-reused"}
	results := runChecks(t, p, controlled...)
	for _, id := range controlled {
		r := results[id]
		if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "404") || len(r.Evidence) == 0 {
			t.Errorf("%s: %s (%s) with %d exchanges, want not_tested citing the control's 404", id, r.Verdict, r.Reason, len(r.Evidence))
		}
	}
}

// TestTokenEvidenceHidesSecrets: on the intact demo every token check
// passes with evidence that shows the refusal's status and code, and no
// reason or evidence holds a password, TOTP secret, access token or bearer
// credential.
func TestTokenEvidenceHidesSecrets(t *testing.T) {
	d := startDemo(t)
	results := runChecks(t, d.Profile, tokenIDs()...)
	secrets := tokenSecrets(t, d.Profile)
	for _, id := range tokenIDs() {
		r, ok := results[id]
		if !ok {
			t.Errorf("no result for %s", id)
			continue
		}
		if r.Verdict != assess.Pass || !strings.Contains(r.Reason, "(token_") && !strings.Contains(r.Reason, "(consent_missing)") &&
			!strings.Contains(r.Reason, "(second_factor_required)") {
			t.Errorf("%s: %s (%s), want pass naming the refusal's status and code", id, r.Verdict, r.Reason)
		}
		if len(r.Evidence) < 2 {
			t.Errorf("%s: %d pieces of evidence, want the control and the refusal", id, len(r.Evidence))
		}
		texts := []string{r.Reason}
		for _, e := range r.Evidence {
			texts = append(texts, e.Title, e.Request, e.Response, e.Note)
		}
		for _, text := range texts {
			for _, line := range strings.Split(text, "\n") {
				if strings.HasPrefix(line, "Authorization:") && line != "Authorization: "+probe.Redacted {
					t.Errorf("%s: evidence shows an Authorization value", id)
				}
				if tokenBearer.MatchString(line) {
					t.Errorf("%s: evidence or reason shows a bearer credential", id)
				}
			}
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s: evidence or reason holds a secret of the demo (not shown)", id)
				}
			}
		}
	}
}

// tokenSecrets are the demo users' passwords and TOTP secrets and the
// access tokens the shared cache holds, to look for in reports.
func tokenSecrets(t *testing.T, p *profile.Profile) []string {
	t.Helper()
	var out []string
	for _, u := range p.Users {
		for _, f := range []string{u.PasswordFile, u.TOTPSecretFile, u.PaymentPasswordFile} {
			if f == "" {
				continue
			}
			b, err := os.ReadFile(p.Path(f))
			if err != nil {
				t.Fatal(err)
			}
			if s := strings.TrimSpace(string(b)); len(s) >= 6 {
				out = append(out, s)
			}
		}
	}
	target, err := probe.NewTarget(p)
	if err != nil {
		t.Fatal(err)
	}
	target.Tokens = tokens
	for _, ep := range []*profile.Endpoint{p.Endpoints.A2Read, p.Endpoints.PersonalData, p.Endpoints.A2Transfer} {
		if ep == nil || ep.User == "" {
			continue
		}
		tok, err := target.UserToken(context.Background(), ep)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok)
	}
	return out
}
