package waf

import (
	"fmt"
	"strings"
)

// Built-in false-positive tuning, applied at every paranoia level.
//
// libinjection (CRS rule 942100, paranoia level 1) reads a value that starts
// with digits followed by "--" as a number and an SQL comment. Random
// base64url strings start that way about once in 25,000 (measured: 78 in
// 2,000,000), so the bank's own authorization codes, access and refresh
// tokens (43 base64url characters, oauth.newSecret) and the apps' PKCE
// code_verifier (RFC 7636) would be refused now and then, at random, on the
// gateway's OAuth endpoints. Rules 10001-10004 lift 942100, and only 942100, from
// the four token parameters of those endpoints, and only while the value has
// the shape of a token: 43 to 128 characters of the RFC 7636 unreserved set,
// which holds no quote, space, parenthesis or semicolon, and only when the
// query string has no parameter of the same name (the lifted target, ARGS:
// name, would cover it too). A value of any other shape, and every other
// rule, stays inspected; the authorization server never puts these values
// into a query (it validates and hashes them).
const (
	ruleOAuthTokens = 10001
	oauthPaths      = `^/oauth/(?:token|revoke|introspect)$`
	tokenShape      = `^[A-Za-z0-9._~-]{43,128}$`
)

// oauthTokenParams are the parameters that carry opaque tokens.
var oauthTokenParams = []string{"code", "code_verifier", "refresh_token", "token"}

// builtinExclusions returns the SecLang of the tuning above. It must come
// before the CRS rules, so that it runs before 942100 in phase 2.
func builtinExclusions() string {
	var b strings.Builder
	for i, p := range oauthTokenParams {
		fmt.Fprintf(&b, `SecRule REQUEST_FILENAME "@rx %s" "id:%d,phase:2,pass,nolog,t:none,chain"`+"\n", oauthPaths, ruleOAuthTokens+i)
		fmt.Fprintf(&b, `  SecRule &ARGS_GET:%s "@eq 0" "chain"`+"\n", p)
		fmt.Fprintf(&b, `  SecRule ARGS_POST:%s "@rx %s" "t:none,ctl:ruleRemoveTargetById=942100;ARGS:%s"`+"\n", p, tokenShape, p)
	}
	return b.String()
}
