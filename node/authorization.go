package node

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/config"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/sandbox"
	"github.com/bankguard/bankguard/secret"
	"github.com/bankguard/bankguard/store/sqlite"
)

// authorization builds the bank's authorization server and its sign-in,
// consent and self-service pages (T/PCAC 0008-2020 3.2.2, 5.3). The pages
// list a user's accounts from the built-in sandbox bank: a node without it
// serves no user authorization, and its user-bound APIs refuse every call.
func (n *Node) authorization(cfg config.Authorization, st *sqlite.Store, key *secret.MasterKey, log *slog.Logger) (*oauth.Server, http.Handler, error) {
	if n.Sandbox == nil {
		return nil, nil, nil
	}
	subject, err := key.Derive("bankguard oauth subject v1", 32)
	if err != nil {
		return nil, nil, err
	}
	apps := registryApps{st}
	sc := oauth.Config{AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, SubjectKey: subject, Logger: log}
	if err := sc.Validate(); err != nil {
		return nil, nil, fmt.Errorf("node: authorization: %w", err)
	}
	srv := oauth.NewServer(st, apps, sc, time.Now)
	pc := pages.Config{Issuer: "bankguard 沙箱银行 Sandbox Bank", IdleTimeout: cfg.IdleTimeout,
		SessionLifetime: cfg.SessionLifetime, MaxFailures: cfg.MaxFailures, Logger: log}
	h, err := pages.New(pc, st, sandboxAccounts{n.Sandbox}, apps, srv, srv, time.Now)
	if err != nil {
		return nil, nil, err
	}
	return srv, h, nil
}

// registryApps answers the authorization server's questions about apps from
// the registry. An app's level is A2 when it holds a key-pair credential
// (A2 refuses secret-only apps), else A1.
type registryApps struct{ st registry.Reader }

func (r registryApps) App(ctx context.Context, id string) (*oauth.AppInfo, error) {
	a, err := r.st.App(ctx, id)
	if errors.Is(err, registry.ErrNotFound) || err == nil && a.Status != registry.AppActive {
		return nil, oauth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	info := &oauth.AppInfo{ID: a.ID, Name: a.Name, Level: "A1", RedirectURIs: a.RedirectURIs, AgreementEnd: a.AgreementEnd}
	creds, err := r.st.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range creds {
		if c.AppID == a.ID && c.Status == registry.CredentialActive && !httpsig.Symmetric(c.Alg) {
			info.Level = "A2"
		}
	}
	if len(a.ClientCertPEM) > 0 {
		block, _ := pem.Decode(a.ClientCertPEM)
		if block == nil {
			return nil, fmt.Errorf("node: app %s: client certificate is not PEM", a.ID)
		}
		sum := sha256.Sum256(block.Bytes)
		info.CertThumbprint = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return info, nil
}

// sandboxAccounts lists a user's accounts for the consent page, masked.
type sandboxAccounts struct{ bank *sandbox.Bank }

func (s sandboxAccounts) AccountsOf(_ context.Context, userID string) ([]pages.Account, error) {
	for _, u := range s.bank.Users() {
		if u.ID != userID {
			continue
		}
		out := make([]pages.Account, 0, len(u.Accounts))
		for _, a := range u.Accounts {
			out = append(out, pages.Account{ID: a.ID, Label: accountLabel(a)})
		}
		return out, nil
	}
	return nil, nil
}

var accountTypes = map[string]string{"debit": "借记卡 Debit", "savings": "储蓄账户 Savings", "credit": "信用卡 Credit"}

func accountLabel(a sandbox.Account) string {
	kind := accountTypes[a.Type]
	if kind == "" {
		kind = a.Type
	}
	return kind + " " + pii.Mask(pii.Card, a.CardNumber)
}

var _ oauth.Apps = registryApps{}
