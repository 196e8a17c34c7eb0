package pages

import (
	"context"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/bankguard/bankguard/oauth"
)

// historyLimit is how many events the self-service page shows.
const historyLimit = 50

// accountView is the body of the self-service page.
type accountView struct {
	Name       string
	Active     []consentRow
	Past       []consentRow
	HasHistory bool
	Events     []eventRow
}

type consentRow struct {
	ID       string
	AppName  string
	Scopes   []string
	Accounts []string
	Validity msg
	Created  string
	Status   msg
}

type eventRow struct {
	Time   string
	Kind   msg
	Detail string
}

// accountPage is the self-service page, the channel through which users
// close the service they gave an app (T/PCAC 0008-2020 5.3.2): their
// consents, active and past, a revoke button for each active one, and their
// history (13.2-3, bank side).
func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.load(w, r, true)
	if !ok {
		return
	}
	if s.stage != stageDone || s.pending != nil {
		http.Redirect(w, r, next(s), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	user, err := h.users.UserByID(ctx, s.userID)
	if err != nil {
		h.internal(w, r, "account: user lookup", err)
		return
	}
	list, err := h.consents.ConsentsOf(ctx, s.userID)
	if err != nil {
		h.internal(w, r, "account: consents", err)
		return
	}
	accts, err := h.accounts.AccountsOf(ctx, s.userID)
	if err != nil {
		h.internal(w, r, "account: accounts", err)
		return
	}
	v := accountView{Name: maskName(user.Name)}
	now, names := h.now(), map[string]string{}
	for i := range list {
		row := h.consentRow(ctx, &list[i], accts, names)
		if list[i].Active(now) {
			v.Active = append(v.Active, row)
			continue
		}
		row.Status = consentStatus(&list[i], now)
		v.Past = append(v.Past, row)
	}
	if h.history != nil {
		events, err := h.history.Events(ctx, s.userID, historyLimit)
		if err != nil {
			h.internal(w, r, "account: events", err)
			return
		}
		v.HasHistory = true
		for _, e := range events {
			v.Events = append(v.Events, eventRow{Time: h.when(e.Time), Kind: eventKind(e.Kind), Detail: e.Detail})
		}
	}
	notice := s.notice
	if notice != nil {
		h.sessions.update(s.key, func(x *session) { x.notice = nil })
	}
	h.render(w, http.StatusOK, "account", pageData{Title: msg{"授权管理", "Your authorizations"}, CSRF: s.csrf, Notice: notice, Body: v})
}

func (h *Handler) consentRow(ctx context.Context, c *oauth.Consent, accts []Account, names map[string]string) consentRow {
	name, ok := names[c.AppID]
	if !ok {
		name = c.AppID
		if app, err := h.apps.App(ctx, c.AppID); err == nil && app != nil {
			name = app.Name
		}
		names[c.AppID] = name
	}
	row := consentRow{ID: c.ID, AppName: name, Created: h.when(c.CreatedAt)}
	for _, sc := range c.Scopes {
		text, ok := h.cfg.ScopeText[sc]
		if !ok {
			text = sc
		}
		row.Scopes = append(row.Scopes, text)
	}
	for _, id := range c.Accounts {
		label := maskID(id)
		for _, a := range accts {
			if a.ID == id {
				label = a.Label
			}
		}
		row.Accounts = append(row.Accounts, label)
	}
	until := h.when(c.ExpiresAt)
	switch c.Validity {
	case oauth.ValidityOnce:
		row.Validity = msg{"仅一次（最迟 " + until + "）", "one time (at the latest " + until + ")"}
	case oauth.ValidityAgreement:
		row.Validity = msg{"协议期内（至 " + until + "）", "agreement term (until " + until + ")"}
	default:
		row.Validity = msg{"至 " + until, "until " + until}
	}
	return row
}

func consentStatus(c *oauth.Consent, now time.Time) msg {
	switch {
	case !c.RevokedAt.IsZero():
		return msg{"已撤销", "revoked"}
	case c.Validity == oauth.ValidityOnce && !c.ConsumedAt.IsZero():
		return msg{"已使用", "used"}
	default:
		return msg{"已过期", "expired"}
	}
}

// eventKinds names the events of the pages and of the authorization server.
var eventKinds = map[string]msg{
	EventLogin:                 {"登录", "Signed in"},
	EventLoginFailed:           {"登录失败", "Failed sign-in"},
	EventSecondFactorFailed:    {"动态验证码错误", "Wrong one-time code"},
	EventLocked:                {"登录已暂时锁定", "Sign-in locked for a while"},
	EventConsentDenied:         {"拒绝授权", "Refused an application"},
	EventLogout:                {"退出", "Signed out"},
	oauth.EventConsent:         {"授权应用", "Authorized an application"},
	oauth.EventConsentRevoked:  {"撤销授权", "Revoked an authorization"},
	oauth.EventConsentUsed:     {"一次性授权已使用", "One-time authorization used"},
	oauth.EventCode:            {"授权码已签发", "Authorization code issued"},
	oauth.EventToken:           {"应用获得令牌", "Application received a token"},
	oauth.EventRefresh:         {"应用刷新令牌", "Application refreshed its token"},
	oauth.EventRevoked:         {"令牌已吊销", "Tokens revoked"},
	oauth.EventCodeReuse:       {"授权码被重复使用", "Authorization code reused"},
	oauth.EventRefreshReuse:    {"刷新令牌被重复使用", "Refresh token reused"},
	oauth.EventFundTransaction: {"资金交易", "Fund transaction"},
}

func eventKind(k string) msg {
	if m, ok := eventKinds[k]; ok {
		return m
	}
	return msg{k, ""}
}

func (h *Handler) when(t time.Time) string {
	return t.In(h.cfg.Location).Format("2006-01-02 15:04")
}

// maskName keeps the first character of a name (张**).
func maskName(n string) string {
	r, size := utf8.DecodeRuneInString(n)
	if size == 0 {
		return ""
	}
	out := string(r)
	for range utf8.RuneCountInString(n) - 1 {
		out += "*"
	}
	return out
}

// maskID shows only the last four characters of an account id the user no
// longer has a label for.
func maskID(id string) string {
	if len(id) <= 4 {
		return "****"
	}
	return "****" + id[len(id)-4:]
}

// revoke answers the revoke button: the consent and every token issued
// under it end at once (5.2.1 e, 5.3.2).
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	s, ok := h.post(w, r, true)
	if !ok {
		return
	}
	if s.stage != stageDone || s.pending != nil {
		http.Redirect(w, r, next(s), http.StatusSeeOther)
		return
	}
	ctx, id := r.Context(), r.PostForm.Get("consent")
	list, err := h.consents.ConsentsOf(ctx, s.userID)
	if err != nil {
		h.internal(w, r, "revoke: consents", err)
		return
	}
	var c *oauth.Consent
	for i := range list {
		if list[i].ID == id && id != "" {
			c = &list[i]
		}
	}
	if c == nil {
		h.message(w, http.StatusNotFound, codeNotFound, msgConsentGone)
		return
	}
	if err := h.consents.RevokeConsent(ctx, s.userID, id); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			h.message(w, http.StatusNotFound, codeNotFound, msgConsentGone)
			return
		}
		h.internal(w, r, "revoke", err)
		return
	}
	h.sessions.update(s.key, func(x *session) { x.notice = &msgRevoked })
	http.Redirect(w, r, pathAccount, http.StatusSeeOther)
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := h.post(w, r, true)
	if !ok {
		return
	}
	h.end(w, s)
	if s.stage == stageDone {
		h.events.AddEvent(r.Context(), s.userID, EventLogout, "")
	}
	h.messageLink(w, http.StatusOK, "", msgLoggedOut, pathAccount, msg{"重新登录", "Sign in again"})
}
