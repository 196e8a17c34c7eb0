package lifecycle

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

func serve(api *registry.API) (*httptest.ResponseRecorder, bool, error) {
	r := httptest.NewRequest("GET", "/x", nil)
	r = r.WithContext(stage.WithExchange(context.Background(), &stage.Exchange{API: api}))
	w := httptest.NewRecorder()
	called := false
	err := Handler{}.ServeHTTP(w, r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		called = true
		return nil
	}))
	return w, called, err
}

func TestTerminatedRefused(t *testing.T) {
	_, called, err := serve(&registry.API{ID: "X", Status: registry.APITerminated, Notice: "积分服务已终止"})
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Code != problem.ServiceTerminated || pe.HTTPStatus() != 410 {
		t.Fatalf("err = %v", err)
	}
	if called || !strings.Contains(pe.Detail, "积分服务已终止") {
		t.Fatalf("called=%v detail=%q", called, pe.Detail)
	}
}

func TestDeprecatedHeaders(t *testing.T) {
	dep := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	sunset := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	w, called, err := serve(&registry.API{Status: registry.APIDeprecated, DeprecatedAt: dep, Sunset: sunset, Successor: "https://bank.example/docs/v2"})
	if err != nil || !called {
		t.Fatalf("err=%v called=%v", err, called)
	}
	if got := w.Header().Get("Deprecation"); got != "@1788220800" {
		t.Fatalf("Deprecation = %q", got)
	}
	if got := w.Header().Get("Sunset"); got != "Wed, 30 Jun 2027 00:00:00 GMT" {
		t.Fatalf("Sunset = %q", got)
	}
	if !strings.Contains(w.Header().Get("Link"), `rel="deprecation"`) {
		t.Fatalf("Link = %q", w.Header().Get("Link"))
	}
}

func TestActiveUntouched(t *testing.T) {
	w, called, err := serve(&registry.API{Status: registry.APIActive})
	if err != nil || !called || w.Header().Get("Deprecation") != "" {
		t.Fatal("active API changed")
	}
}
