package pii_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/pii"
)

// stringer is a fmt.Stringer that reveals a phone number.
type stringer struct{}

func (stringer) String() string { return "user 13912345678" }

// valuer is a slog.LogValuer that reveals an ID number.
type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("id 330106197811198076") }

// payee is a struct logged as Any.
type payee struct {
	Name string
	Card *string
}

func TestSlogHandlerMasks(t *testing.T) {
	card := "6259993483927464"
	for _, tc := range []struct {
		name string
		log  func(l *slog.Logger)
		want []string // masked forms that must appear
	}{
		{"brief example", func(l *slog.Logger) {
			l.Info("transfer to 6222020200112233446", "id", "330106197811198076", "err", errors.New("phone 13812345678 failed"))
		}, []string{"622202*********3446", "3****************6", "138****5678"}},
		{"with attrs and groups", func(l *slog.Logger) {
			l.With("card", card).WithGroup("req").With("ph", "13812345678").Info("ok", slog.Group("user", "mail", "a.b@example.com", "id", 330106197811198076))
		}, []string{"625999******7464", "138****5678", "a***@example.com", "3****************6"}},
		{"stringer, valuer, wrapped error, struct", func(l *slog.Logger) {
			l.Warn("x", "s", stringer{}, "v", valuer{}, "err", fmt.Errorf("wrap: %w", errors.New("card "+card)), "payee", payee{Name: "李四", Card: &card})
		}, []string{"139****5678", "3****************6", "625999******7464"}},
		{"integer card", func(l *slog.Logger) {
			l.Error("e", "pan", uint64(6259993483927464), "n", 42)
		}, []string{"625999******7464", "42"}},
		{"key and group name", func(l *slog.Logger) {
			l.WithGroup("13812345678").Info("m", card, 1)
		}, []string{"138****5678", "625999******7464"}},
	} {
		for _, h := range []struct {
			name string
			new  func(*bytes.Buffer) slog.Handler
		}{
			{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
			{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		} {
			t.Run(tc.name+"/"+h.name, func(t *testing.T) {
				var buf bytes.Buffer
				tc.log(slog.New(pii.NewSlogHandler(h.new(&buf))))
				out := buf.String()
				if fs := pii.Find(out); len(fs) > 0 {
					t.Fatalf("unmasked %s %q in %s", fs[0].Kind, out[fs[0].Start:fs[0].End], out)
				}
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Fatalf("%q missing from %s", w, out)
					}
				}
			})
		}
	}
}

func TestSlogHandlerEnabled(t *testing.T) {
	h := pii.NewSlogHandler(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(t.Context(), slog.LevelInfo) || !h.Enabled(t.Context(), slog.LevelError) {
		t.Fatal("Enabled does not follow the wrapped handler")
	}
}
