package probe

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/profile"
)

// surfaceProfile is a profile of an unreachable target with the given
// endpoints; the checks must decide before sending anything.
func surfaceProfile(t *testing.T, endpoints string) *Target {
	t.Helper()
	dir := t.TempDir()
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse([]byte(`{"schema":"bankguard-profile/v1","target":{"base_url":"https://127.0.0.1:1"},
		"apps":[{"app_id":"a1","level":"A1","credentials":[{"keyid":"k","alg":"hmac-sm3","secret_file":"secret"}]}],
		"endpoints":` + endpoints + `}`))
	if err != nil {
		t.Fatal(err)
	}
	p.SetDir(dir)
	target, err := NewTarget(p)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func TestSurfaceNotTestedWithoutEndpoints(t *testing.T) {
	for _, ch := range surfaceChecks(surfaceProfile(t, `{}`)) {
		r := ch.Run(context.Background())
		if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "endpoints.") {
			t.Errorf("%s without endpoints: %s (%s), want not_tested naming the profile field", ch.ID, r.Verdict, r.Reason)
		}
	}
	tg := surfaceProfile(t, `{"invalid_parameter":{"method":"GET","path":"/v1/products"}}`)
	if r := invalidParameterCheck(context.Background(), tg); r.Verdict != assess.NotTested {
		t.Errorf("invalid_parameter with no parameter to look for: %s (%s)", r.Verdict, r.Reason)
	}
}

func TestSurfaceUnreachableIsError(t *testing.T) {
	all := `{"ping":{"method":"GET","path":"/v1/ping"},"a1_read":{"method":"GET","path":"/v1/products"}}`
	probed := map[string]bool{"errors.no-leak": true, "injection.sql": true, "injection.script": true, "connectivity.ping": true}
	for _, ch := range surfaceChecks(surfaceProfile(t, all)) {
		want := assess.NotTested
		if probed[ch.ID] {
			want = assess.Error
		}
		if r := ch.Run(context.Background()); r.Verdict != want {
			t.Errorf("%s against a closed port: %s (%s), want %s", ch.ID, r.Verdict, r.Reason, want)
		}
	}
}

func surfaceExchange(status int, ctype, body string, header ...string) *Exchange {
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &Exchange{Status: status, Header: h, Body: []byte(body)}
}

func TestFindLeaks(t *testing.T) {
	own := ownHost{name: "gw.bank.example"}
	problem := "application/problem+json"
	cases := []struct {
		name string
		x    *Exchange
		want string // a word of the finding; "" for none
		note bool
	}{
		{"clean problem", surfaceExchange(400, problem, `{"status":400,"code":"request_invalid","detail":"query parameter \"page_size\": number must be at most 100","request_id":"202611270145356414488bd1e683b"}`), "", false},
		{"versions, amounts and times are not addresses", surfaceExchange(400, problem, `{"detail":"interface 1.0.0, amount 10.00, at 2026-11-27T01:45:35Z, rate 710.2300"}`), "", false},
		{"the target's own address", surfaceExchange(404, problem, `{"detail":"see https://gw.bank.example/docs"}`), "", false},
		{"public address", surfaceExchange(404, problem, `{"detail":"from 8.8.8.8"}`), "", false},
		{"Server with a version", surfaceExchange(404, problem, `{}`, "Server", "Apache/2.4.41 (Ubuntu)"), "Server", false},
		{"Server without a version", surfaceExchange(404, problem, `{}`, "Server", "nginx"), "Server", true},
		{"X-Powered-By", surfaceExchange(404, problem, `{}`, "X-Powered-By", "PHP/7.4.3"), "X-Powered-By", false},
		{"X-AspNet-Version", surfaceExchange(404, problem, `{}`, "X-AspNet-Version", "4.0.30319"), "X-AspNet-Version", false},
		{"Go panic", surfaceExchange(500, "text/plain", "panic: runtime error\n\ngoroutine 1 [running]:\nmain.go:12"), "stack", false},
		{"Java stack", surfaceExchange(500, "text/plain", "java.lang.NullPointerException\n\tat com.bank.X.y(X.java:3)"), "stack", false},
		{"Python traceback", surfaceExchange(500, "text/plain", "Traceback (most recent call last):"), "stack", false},
		{"MySQL error", surfaceExchange(400, problem, `{"detail":"You have an error in your SQL syntax"}`), "SQL", false},
		{"Oracle error", surfaceExchange(400, problem, `{"detail":"ORA-00933: SQL command not properly ended"}`), "SQL", false},
		{"Postgres driver", surfaceExchange(400, problem, `{"detail":"pq: invalid input syntax"}`), "SQL", false},
		{"private IPv4", surfaceExchange(502, problem, `{"detail":"upstream 192.168.10.5:8080 refused"}`), "address", false},
		{"10/8 at a sentence end", surfaceExchange(502, problem, `{"detail":"dial 10.1.2.3."}`), "address", false},
		{"172.16/12", surfaceExchange(502, problem, `{"detail":"172.20.0.7"}`), "address", false},
		{"loopback not the target", surfaceExchange(502, problem, `{"detail":"127.0.0.1:5432"}`), "address", false},
		{"private IPv6", surfaceExchange(502, problem, `{"detail":"[fd00::12]:8080"}`), "address", false},
		{"internal name", surfaceExchange(502, problem, `{"detail":"core.bank.internal timed out"}`), "host name", false},
		{"mDNS name", surfaceExchange(502, problem, `{"detail":"db01.local"}`), "host name", false},
		{"internal name in a header", surfaceExchange(502, problem, `{}`, "X-Backend", "app3.corp.internal"), "host name", false},
		{"Unix path", surfaceExchange(500, problem, `{"detail":"open /home/app/config.yaml"}`), "path", false},
		{"Windows path", surfaceExchange(500, problem, `{"detail":"C:\\inetpub\\wwwroot"}`), "path", false},
		{"middleware version in a page", surfaceExchange(404, "text/html", `<hr><center>nginx/1.18.0</center>`), "version", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ls := findLeaks(c.x, own)
			if c.want == "" {
				if len(ls) > 0 {
					t.Fatalf("found %v in a clean answer", ls)
				}
				return
			}
			if len(ls) == 0 || !strings.Contains(ls[0].what, c.want) || ls[0].note != c.note {
				t.Fatalf("found %v, want %q (note %v)", ls, c.want, c.note)
			}
		})
	}
}

func TestFindLeaksSparesTheTargetsOwnAddress(t *testing.T) {
	x := surfaceExchange(404, "application/problem+json", `{"detail":"see https://127.0.0.1:8443/docs"}`)
	if ls := findLeaks(x, targetHost(&profile.Profile{Target: profile.Target{BaseURL: "https://127.0.0.1:8443"}})); len(ls) > 0 {
		t.Fatalf("the target's own address counted as a leak: %v", ls)
	}
	if ls := findLeaks(x, targetHost(&profile.Profile{Target: profile.Target{BaseURL: "https://gw.bank.example"}})); len(ls) == 0 {
		t.Fatal("a loopback address of another host was not found")
	}
}

func TestReflectsUnescaped(t *testing.T) {
	const p = `<script>alert(1)</script>`
	cases := []struct {
		name string
		x    *Exchange
		want bool
	}{
		{"html page", surfaceExchange(200, "text/html", "<p>"+p+"</p>"), true},
		{"no content type", surfaceExchange(200, "", p), true},
		{"json without nosniff", surfaceExchange(200, "application/json", `{"memo":"`+p+`"}`), true},
		{"json with nosniff", surfaceExchange(200, "application/json", `{"memo":"`+p+`"}`, "X-Content-Type-Options", "nosniff"), false},
		{"escaped json", surfaceExchange(200, "application/json", `{"memo":"\u003cscript\u003e"}`), false},
		{"escaped html", surfaceExchange(200, "text/html", "&lt;script&gt;alert(1)&lt;/script&gt;"), false},
	}
	for _, c := range cases {
		if got := reflectsUnescaped(c.x, p); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if reflectsUnescaped(surfaceExchange(200, "application/json", `{"memo":"javascript:alert(1)"}`), "javascript:alert(1)") {
		t.Error("a URL scheme in JSON without nosniff cannot run")
	}
}

func TestBadBodiesHoldNoSecretAndNoPayment(t *testing.T) {
	example := []byte(`{"from_account_id":"AC1","amount":"1.00","memo":"x","payment_password":"sealed"}`)
	malformed, wrong, huge := badBodies(example)
	if json.Valid(malformed) {
		t.Error("the malformed body is valid JSON")
	}
	for _, b := range [][]byte{wrong, huge} {
		if bytes.Contains(b, []byte("payment_password")) || bytes.Contains(b, []byte("sealed")) {
			t.Errorf("a bad body carries the secret member: %.80s", b)
		}
	}
	if !bytes.Contains(wrong, []byte(":"+longNumber)) || !bytes.Contains(wrong, []byte(":true")) {
		t.Errorf("the wrongly typed body has no 40-digit number or boolean: %s", wrong)
	}
	var h map[string]string
	if err := json.Unmarshal(huge, &h); err != nil || len(h["memo"]) != hugeString || h["from_account_id"] != "AC1" {
		t.Errorf("the huge body does not put 1 MiB into memo (%v)", err)
	}
	if _, wrong, _ := badBodies(nil); !json.Valid(wrong) || !bytes.Contains(wrong, []byte(longNumber)) {
		t.Errorf("without an example body: %s", wrong)
	}
}

func TestInterfaceVersion(t *testing.T) {
	cases := []struct {
		x    *Exchange
		want string
	}{
		{surfaceExchange(200, "application/json", `{"status":"ok","interface_version":"1.0.0"}`), "1.0.0"},
		{surfaceExchange(200, "application/json", `{"data":{"apiVersion":"v2"}}`), "v2"},
		{surfaceExchange(200, "application/json", `{"version":3}`), "3"},
		{surfaceExchange(200, "text/plain", "pong", "Api-Version", "2024-01-01"), "2024-01-01"},
		{surfaceExchange(200, "application/json", `{"status":"ok","server_time":"2026-11-27T01:45:35Z"}`), ""},
		{surfaceExchange(200, "application/json", `{"version":{"major":1}}`), ""},
	}
	for _, c := range cases {
		if got, _ := interfaceVersion(c.x); got != c.want {
			t.Errorf("%s: version %q, want %q", c.x.Body, got, c.want)
		}
	}
}

func TestNamesParameter(t *testing.T) {
	names := []string{"id"}
	for body, want := range map[string]bool{
		`{"title":"Request invalid","request_id":"2026","detail":"the request is invalid"}`: false,
		`{"detail":"query parameter \"id\" cannot be parsed"}`:                              true,
		`{"errors":[{"parameter":"id"}]}`:                                                   true,
		`{"invalid_params":{"id":"must be a number"}}`:                                      true,
	} {
		if got := namesParameter([]byte(body), names); got != want {
			t.Errorf("%s: %v, want %v", body, got, want)
		}
	}
}

func TestDeprecationDate(t *testing.T) {
	for v, want := range map[string]bool{
		"@1788220800": true, "Wed, 30 Jun 2027 00:00:00 GMT": true,
		"true": false, "soon": false, "@": false, "@17882x": false,
	} {
		if _, ok := deprecationDate(v); ok != want {
			t.Errorf("Deprecation %q valid: %v, want %v", v, ok, want)
		}
	}
}

func TestInjectionPlacement(t *testing.T) {
	tg := surfaceProfile(t, `{"a1_read":{"method":"GET","path":"/v1/products"},
		"invalid_parameter":{"method":"GET","path":"/v1/products?page_size=100000"},
		"a2_transfer":{"method":"POST","path":"/v1/transfers","body":{"amount":"1.00","memo":"m","payment_password":"sealed"}}}`)
	probes, gaps := injectionProbes(&tg.Profile.Endpoints, &sqlInjection)
	if len(gaps) > 0 || len(probes) != len(sqlInjection.payloads)+transferProbes {
		t.Fatalf("%d probes, gaps %v", len(probes), gaps)
	}
	if !strings.HasPrefix(probes[0].path, "/v1/products?page_size=") {
		t.Errorf("query probe %s does not use the parameter the API checks", probes[0].path)
	}
	last := probes[len(probes)-1]
	var body map[string]string
	if err := json.Unmarshal(last.body, &body); err != nil || body["memo"] != last.payload || body["payment_password"] != "sealed" || body["amount"] != "1.00" {
		t.Errorf("transfer probe body %s: only the memo may change", last.body)
	}
}
