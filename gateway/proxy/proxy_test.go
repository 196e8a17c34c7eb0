package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

// backend answers per path, recording the last request it saw.
func backend(t *testing.T, seen *http.Header) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*seen = r.Header.Clone()
		h := w.Header()
		switch r.URL.Path {
		case "/ok":
			h.Set("Server", "Apache/2.4.1 (Unix)")
			h.Set("X-Powered-By", "PHP/5.6")
			h.Set("Set-Cookie", "JSESSIONID=abc")
			h.Set("Bankguard-User", "spoofed")
			h.Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`)
		case "/crash":
			w.WriteHeader(500)
			io.WriteString(w, "java.lang.NullPointerException at com.bank.core.Ledger(Ledger.java:42) SELECT * FROM accounts")
		case "/funds":
			h.Set("Content-Type", "application/problem+json")
			w.WriteHeader(422)
			io.WriteString(w, `{"code":"insufficient_funds","detail":"account 6222020200112233445 of 张三 has 3.00"}`)
		case "/weird-code":
			h.Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			io.WriteString(w, `{"code":"ORA-00942 table or view does not exist"}`)
		case "/missing":
			w.WriteHeader(404)
			io.WriteString(w, "<html>Tomcat 9.0.1 404</html>")
		case "/unauthorized":
			w.WriteHeader(401)
		case "/slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func serve(t *testing.T, p *Proxy, path string, header http.Header) (*httptest.ResponseRecorder, error) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	ex := &stage.Exchange{ID: "TXN1", App: &registry.App{ID: "app-1"}, API: &registry.API{ID: "OPAPI"}}
	r = r.WithContext(stage.WithExchange(context.Background(), ex))
	w := httptest.NewRecorder()
	return w, p.ServeHTTP(w, r, "core")
}

func newProxy(t *testing.T, u string, timeout time.Duration) *Proxy {
	t.Helper()
	pu, _ := url.Parse(u)
	return New(map[string]Upstream{"core": {URL: pu, Timeout: timeout}}, nil)
}

func TestProxyForwardsAndStrips(t *testing.T) {
	var seen http.Header
	p := newProxy(t, backend(t, &seen).URL, time.Second)
	w, err := serve(t, p, "/ok", http.Header{
		"Bankguard-User":  {"someone-else"},
		"Accept-Encoding": {"gzip"},
		"X-Request-Id":    {"client-chosen"},
	})
	if err != nil || w.Code != 200 || w.Body.String() != `{"ok":true}` {
		t.Fatalf("err=%v code=%d body=%s", err, w.Code, w.Body)
	}
	for _, h := range []string{"Server", "X-Powered-By", "Set-Cookie", "Bankguard-User"} {
		if v := w.Header().Get(h); v != "" {
			t.Errorf("response header %s = %q passed through", h, v)
		}
	}
	if seen.Get("Bankguard-User") != "" {
		t.Error("client-supplied Bankguard-User reached the backend")
	}
	if seen.Get("Bankguard-App-Id") != "app-1" || seen.Get("Bankguard-Api-Id") != "OPAPI" || seen.Get("X-Request-Id") != "TXN1" {
		t.Errorf("backend headers = %v", seen)
	}
	if seen.Get("Accept-Encoding") != "" {
		t.Error("Accept-Encoding forwarded")
	}
}

func TestProxyErrors(t *testing.T) {
	var seen http.Header
	p := newProxy(t, backend(t, &seen).URL, 300*time.Millisecond)
	tests := []struct {
		path   string
		status int
		code   problem.Code
	}{
		{"/crash", 502, problem.UpstreamUnavailable},
		{"/funds", 422, "insufficient_funds"},
		{"/weird-code", 404, problem.NotFound},
		{"/missing", 404, problem.NotFound},
		{"/unauthorized", 502, problem.UpstreamUnavailable},
		{"/slow", 504, problem.UpstreamUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w, err := serve(t, p, tt.path, nil)
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.HTTPStatus() != tt.status || pe.Code != tt.code {
				t.Fatalf("err = %v, want %d %s", err, tt.status, tt.code)
			}
			if w.Body.Len() != 0 {
				t.Fatalf("backend body written: %q", w.Body)
			}
			rendered := string(problem.Body(pe, "TXN1"))
			for _, leak := range []string{"java", "SELECT", "Tomcat", "ORA-", "6222", "张三"} {
				if strings.Contains(rendered, leak) {
					t.Fatalf("rendered error leaks %q: %s", leak, rendered)
				}
			}
		})
	}
}

func TestProxyBackendDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	p := newProxy(t, "http://"+addr, time.Second)
	_, err := serve(t, p, "/ok", nil)
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.HTTPStatus() != 502 || pe.Code != problem.UpstreamUnavailable {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(pe.Detail, addr) {
		t.Fatalf("detail names the backend address: %s", pe.Detail)
	}
}

func TestUnknownUpstream(t *testing.T) {
	p := New(nil, nil)
	_, err := serve(t, p, "/ok", nil)
	if pe := problem.From(err); pe.Code != problem.Internal {
		t.Fatalf("err = %v", err)
	}
}
