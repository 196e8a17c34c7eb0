package body

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

func TestBody(t *testing.T) {
	h := &Handler{Limit: 64, MediaTypes: func(id string) []string {
		if id == "post" {
			return []string{"application/json"}
		}
		return nil
	}}
	tests := []struct {
		name, api, contentType, body string
		wantCode                     problem.Code
	}{
		{name: "json accepted", api: "post", contentType: "application/json; charset=utf-8", body: `{"a":1}`},
		{name: "empty GET", api: "get"},
		{name: "too large", api: "post", contentType: "application/json", body: strings.Repeat("x", 65), wantCode: problem.BodyTooLarge},
		{name: "wrong type", api: "post", contentType: "text/plain", body: `{"a":1}`, wantCode: problem.UnsupportedMediaType},
		{name: "no type", api: "post", body: `{"a":1}`, wantCode: problem.UnsupportedMediaType},
		{name: "body on GET", api: "get", contentType: "application/json", body: `{}`, wantCode: problem.RequestInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &stage.Exchange{API: &registry.API{ID: tt.api}}
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			r = r.WithContext(stage.WithExchange(context.Background(), ex))
			var seen string
			err := h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				b, _ := io.ReadAll(r.Body)
				seen = string(b)
				return nil
			}))
			if tt.wantCode != "" {
				var pe *problem.Error
				if !errors.As(err, &pe) || pe.Code != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil || seen != tt.body || string(ex.Body) != tt.body {
				t.Fatalf("err=%v seen=%q", err, seen)
			}
		})
	}
}

func TestBodyTooLargeWithoutContentLength(t *testing.T) {
	h := &Handler{Limit: 8}
	r := httptest.NewRequest("POST", "/x", io.MultiReader(strings.NewReader(strings.Repeat("y", 100))))
	r.ContentLength = -1
	r = r.WithContext(stage.WithExchange(context.Background(), &stage.Exchange{}))
	err := h.ServeHTTP(httptest.NewRecorder(), r, stage.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil }))
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Code != problem.BodyTooLarge {
		t.Fatalf("err = %v", err)
	}
}
