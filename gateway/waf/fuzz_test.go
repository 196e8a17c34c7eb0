package waf

import (
	"errors"
	"net/url"
	"testing"

	"github.com/bankguard/bankguard/problem"
)

// FuzzHandler feeds arbitrary query values, header values and JSON bodies:
// the stage either passes the request or refuses it with a client-safe
// problem; it never panics and never fails open on an internal error.
func FuzzHandler(f *testing.F) {
	for _, p := range payloads {
		f.Add(p.value, p.value, `{"memo":`+jsonString(p.value)+`}`)
	}
	for _, l := range legitimate[:6] {
		f.Add(l.value, l.value, `{"memo":`+jsonString(l.value)+`}`)
	}
	f.Add("", "", `{"a":`)
	f.Add("%", "\x00", "\xff\xfe")
	h := handler(f, pl1)
	f.Fuzz(func(t *testing.T, query, header, body string) {
		rq := request{target: "/v1/x?q=" + url.QueryEscape(query), header: map[string]string{"X-Custom": header}, body: body}
		called, err := serve(h, rq)
		if err == nil {
			if !called {
				t.Fatal("passed without calling next")
			}
			return
		}
		var pe *problem.Error
		if called || !errors.As(err, &pe) {
			t.Fatalf("called=%v err=%v", called, err)
		}
		switch pe.Code {
		case problem.RequestBlocked, problem.RequestInvalid, problem.BodyTooLarge:
		default:
			t.Fatalf("unexpected refusal %v", err)
		}
	})
}
