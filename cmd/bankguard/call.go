package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bankguard/bankguard/demo"
	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/authflow"
	"github.com/bankguard/bankguard/profile"
	"github.com/bankguard/bankguard/sdk"
)

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// callCmd returns 0 for a 2xx/3xx response with a valid or no bank signature,
// 1 for a 4xx/5xx response or an invalid bank signature, 2 if no call was made.
func callCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profilePath := fs.String("profile", "bankguard-data/demo/profile.json", "target profile `file`")
	appID := fs.String("app", "", "App_ID to call as (default: the profile's first app)")
	data := fs.String("data", "", "request `body` (JSON), or @file")
	user := fs.String("user", "", "bank `user` to act for: signs in on the bank's pages, consents and sends the call with the access token")
	scope := fs.String("scope", "accounts,holdings,transfers", "with --user: the `scopes` to ask for, comma-separated")
	validity := fs.String("validity", "agreement", "with --user: the consent's validity, once|until|agreement")
	until := fs.String("until", "", "with --user --validity until: the consent's last `day` (YYYY-MM-DD, the bank's time zone)")
	verbose := fs.Bool("v", false, "print request and response headers")
	var headers, seals headerFlags
	fs.Var(&headers, "H", "extra request `header` (Name: value), repeatable")
	fs.Var(&seals, "seal", "seal a sensitive body field to the bank's encryption key: `/field=value` or /field=@file, repeatable")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: bankguard call [--profile FILE] [--app APP_ID] [--data BODY] [--seal /field=value] [-H 'Name: value'] [-v]\n"+
			"                     [--user NAME [--scope accounts,transfers] [--validity once|until|agreement] [--until YYYY-MM-DD]] METHOD URL")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 2 {
		fs.Usage()
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "bankguard call: "+format+"\n", a...)
		return 2
	}
	var authz authflow.Request
	if *user != "" {
		if authz, err = userRequest(*scope, *validity, *until); err != nil {
			return fail("%v", err)
		}
		for _, h := range headers {
			if name, _, _ := strings.Cut(h, ":"); strings.EqualFold(strings.TrimSpace(name), "Authorization") {
				return fail("--user sets the Authorization header: do not pass one with -H")
			}
		}
	}
	p, err := profile.Load(*profilePath)
	if err != nil {
		return fail("%v (start the sandbox with 'go run ./cmd/bankguard demo', or pass --profile)", err)
	}
	if *appID == "" {
		*appID = p.Apps[0].AppID
	}
	var bearer string
	if *user != "" {
		if bearer, err = authorizeUser(ctx, p, *appID, *user, authz, stderr); err != nil {
			return fail("authorization as %s: %v", *user, err)
		}
	}
	client, err := p.Client(ctx, *appID)
	if err != nil {
		return fail("%v", err)
	}
	body, err := requestBody(*data)
	if err != nil {
		return fail("%v", err)
	}
	if len(seals) > 0 {
		keys, err := p.EncryptionKeys(ctx, client.HTTP)
		if err != nil {
			return fail("%v", err)
		}
		if body, err = sealFields(body, seals, keys); err != nil {
			return fail("%v", err)
		}
	}
	method, target := strings.ToUpper(pos[0]), p.URL(pos[1])
	req, err := sdk.NewRequest(ctx, method, target, body)
	if err != nil {
		return fail("%v", err)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return fail("-H %q: want 'Name: value'", h)
		}
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if bearer != "" {
		// Set before Do signs the request: the signature covers it (CONTRACT.md §2).
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	app, _ := p.App(*appID)
	fmt.Fprintf(stderr, "> %s %s  (app %s, keyid %s, %s)\n", method, target, app.AppID, client.KeyID, client.Signer.Alg())
	resp, err := client.Do(req)
	if resp == nil {
		return fail("%v", err)
	}
	if *verbose {
		printHeaders(stderr, ">", req.Header)
	}
	fmt.Fprintf(stderr, "< %s  X-Request-Id: %s\n", resp.Status, resp.Header.Get("X-Request-Id"))
	if *verbose {
		printHeaders(stderr, "<", resp.Header)
	}
	code := 0
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "< bank signature: INVALID — do not trust this response: %v\n", err)
		code = 1
	case resp.BankSignature != nil:
		fmt.Fprintf(stderr, "< bank signature: verified (keyid %s, %s)\n", resp.BankSignature.KeyID, resp.BankSignature.Alg)
	default:
		fmt.Fprintln(stderr, "< bank signature: none (A1 APIs are not signed)")
	}
	if resp.Decrypted {
		fmt.Fprintln(stderr, "< encrypted fields: decrypted with this app's encryption key")
	}
	if resp.StatusCode >= 400 {
		code = 1
	}
	writeBody(stdout, resp.Body)
	return code
}

// userRequest is the authorization --user asks for: the scopes, the
// validity (and its last day), every account offered, and the risk warning
// of fund scopes acknowledged.
func userRequest(scope, validity, until string) (authflow.Request, error) {
	req := authflow.Request{Validity: oauth.Validity(validity), AcknowledgeRisk: true}
	for _, s := range strings.Split(scope, ",") {
		if s = strings.TrimSpace(s); s != "" {
			req.Scopes = append(req.Scopes, s)
		}
	}
	if len(req.Scopes) == 0 {
		return req, errors.New("--scope names no scope")
	}
	switch req.Validity {
	case oauth.ValidityOnce, oauth.ValidityAgreement:
		if until != "" {
			return req, errors.New("--until goes with --validity until")
		}
	case oauth.ValidityUntil:
		d, err := time.Parse("2006-01-02", until)
		if err != nil {
			return req, errors.New("--validity until needs --until YYYY-MM-DD")
		}
		req.Until = d
	default:
		return req, fmt.Errorf("--validity must be once, until or agreement, not %q", validity)
	}
	return req, nil
}

// authorizeUser obtains an access token for user through the bank's own
// pages, as the app appID with its demo redirect URI, and says on stderr
// what was authorized — never the token.
func authorizeUser(ctx context.Context, p *profile.Profile, appID, user string, req authflow.Request, stderr io.Writer) (string, error) {
	flow, err := authflow.FromProfile(ctx, p, appID, user, demo.RedirectURI(appID))
	if err != nil {
		return "", err
	}
	flow.RetryTOTP = true
	flow.Progress = func(m string) { fmt.Fprintf(stderr, "* %s\n", m) }
	toks, err := flow.Run(ctx, req)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "authorized as %s: consent %s, scopes %s, acr %s, expires in %d s\n",
		user, toks.ConsentID, toks.Scope, toks.ACR, toks.ExpiresIn)
	return toks.AccessToken, nil
}

// sealFields sets each top-level member /name of the JSON body to its value
// sealed to the bank's encryption key.
func sealFields(body []byte, seals []string, keys sdk.EncryptionKeys) ([]byte, error) {
	doc := map[string]json.RawMessage{}
	if len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("--seal needs a JSON object body: %w", err)
		}
	}
	for _, s := range seals {
		ptr, value, ok := strings.Cut(s, "=")
		name, top := strings.CutPrefix(ptr, "/")
		if !ok || !top || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("--seal %q: want /field=value for a top-level field", ptr)
		}
		plain, err := requestBody(value)
		if err != nil {
			return nil, err
		}
		// A value from a file is the file's first line.
		sealed, err := keys.Seal(bytes.TrimRight(plain, "\r\n"), time.Now())
		if err != nil {
			return nil, err
		}
		doc[name], _ = json.Marshal(sealed)
	}
	return json.Marshal(doc)
}

func requestBody(data string) ([]byte, error) {
	if data == "" {
		return nil, nil
	}
	if name, ok := strings.CutPrefix(data, "@"); ok {
		return os.ReadFile(name)
	}
	return []byte(data), nil
}

// printHeaders prints h, an Authorization value reduced to its scheme: a
// token is never printed.
func printHeaders(w io.Writer, prefix string, h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			if strings.EqualFold(k, "Authorization") {
				scheme, _, _ := strings.Cut(v, " ")
				v = scheme + " [redacted]"
			}
			fmt.Fprintf(w, "%s %s: %s\n", prefix, k, v)
		}
	}
}

// writeBody pretty-prints JSON and copies anything else as it is.
func writeBody(w io.Writer, b []byte) {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") == nil {
		out.WriteByte('\n')
		w.Write(out.Bytes())
		return
	}
	w.Write(b)
}
