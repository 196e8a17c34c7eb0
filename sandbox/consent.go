package sandbox

import (
	"net/http"
	"strings"
)

// The user binding of the user-bound APIs. The gateway authorizes the user (access token,
// consent, shared accounts: T/PCAC 0008-2020 3.2.2, 5.3.2) and names the result in
// Bankguard-User, Bankguard-Consent and Bankguard-Accounts; the bank, like a core system,
// still acts only within what those headers allow.

const detailUserRequired = "this API acts for a user and the request names none"

// userBound wraps the handler of a user-bound API: with Options.RequireUser, a request without
// Bankguard-User is refused with 401 user_required before anything else is looked at.
func (b *Bank) userBound(h func(http.ResponseWriter, *http.Request, []string)) func(http.ResponseWriter, *http.Request, []string) {
	return func(w http.ResponseWriter, r *http.Request, params []string) {
		if b.requireUser && strings.TrimSpace(r.Header.Get(headerUser)) == "" {
			writeProblem(w, r, http.StatusUnauthorized, codeUserRequired, detailUserRequired)
			return
		}
		h(w, r, params)
	}
}

// sharedAccounts returns the account ids of Bankguard-Accounts, and whether the header is
// present at all. Present and empty means the user shared no account.
func sharedAccounts(r *http.Request) (map[string]bool, bool) {
	values := r.Header.Values(headerAccounts)
	if len(values) == 0 {
		return nil, false
	}
	shared := map[string]bool{}
	for _, v := range values {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				shared[id] = true
			}
		}
	}
	return shared, true
}

// consentOf returns the consent id the gateway named for r, or "".
func consentOf(r *http.Request) string {
	return strings.TrimSpace(r.Header.Get(headerConsent))
}
