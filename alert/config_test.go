package alert

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"go.yaml.in/yaml/v3"

	"github.com/bankguard/bankguard/httpsig"
)

const exampleYAML = `
dedup_window: 5m
queue_size: 1024
time_zone: UTC
daily_report_at: "08:00"
notifiers:
  - log: {}
  - name: soc
    min_severity: warning
    rate_per_minute: 30
    webhook:
      url: https://soc.bank.example/hooks/bankguard
      key_id: alert-2026
      private_key_file: keys/alert-webhook.pem
  - name: duty-mail
    min_severity: critical
    rate_per_minute: 10
    daily_report: false
    smtp:
      addr: smtp.bank.example:587
      from: bankguard@bank.example
      to: [soc@bank.example, ops@bank.example]
      username: bankguard
      password_file: secrets/smtp-password
      starttls: true
`

func TestConfigExampleAndDefaults(t *testing.T) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(exampleYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	n := c.Notifiers
	if c.DedupWindow != 5*time.Minute || n[0].Name != "log-0" || n[0].MinSeverity != Info || n[0].RatePerMinute != 30 || !*n[0].DailyReport {
		t.Errorf("log defaults: %+v", n[0])
	}
	if n[1].Webhook.DigestAlg != httpsig.DigestSM3 || n[1].Webhook.Attempts != 3 || n[1].Webhook.Timeout != 5*time.Second {
		t.Errorf("webhook defaults: %+v", n[1].Webhook)
	}
	if *n[2].DailyReport || n[2].SMTP.Timeout != DefaultSMTPTimeout {
		t.Errorf("smtp: %+v", n[2])
	}

	var empty Config
	if err := empty.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(empty.Notifiers) != 1 || empty.Notifiers[0].Log == nil || empty.DedupWindow != DefaultDedupWindow {
		t.Errorf("empty config defaults: %+v", empty)
	}
}

func TestConfigRefusals(t *testing.T) {
	wh := func(f func(*WebhookConfig)) NotifierConfig {
		w := &WebhookConfig{URL: "https://soc.example/h", KeyID: "k", PrivateKeyFile: "k.pem"}
		f(w)
		return NotifierConfig{Webhook: w}
	}
	mail := func(f func(*SMTPConfig)) NotifierConfig {
		s := &SMTPConfig{Addr: "smtp.example:587", From: "a@bank.example", To: []string{"b@bank.example"}, StartTLS: true}
		f(s)
		return NotifierConfig{SMTP: s}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"dedup window too long", Config{DedupWindow: 48 * time.Hour}, "alerts.dedup_window"},
		{"unknown zone", Config{TimeZone: "Mars/Olympus"}, "alerts.time_zone"},
		{"bad report time", Config{DailyReportAt: "25:00"}, "alerts.daily_report_at"},
		{"no kind", Config{Notifiers: []NotifierConfig{{Name: "x"}}}, "alerts.notifiers[0]: set exactly one"},
		{"two kinds", Config{Notifiers: []NotifierConfig{{Log: &LogConfig{}, SMTP: &SMTPConfig{}}}}, "alerts.notifiers[0]: set exactly one"},
		{"bad severity", Config{Notifiers: []NotifierConfig{{Log: &LogConfig{}, MinSeverity: "loud"}}}, "alerts.notifiers[0].min_severity"},
		{"negative rate", Config{Notifiers: []NotifierConfig{{Log: &LogConfig{}, RatePerMinute: -1}}}, "alerts.notifiers[0].rate_per_minute"},
		{"plain http off host", Config{Notifiers: []NotifierConfig{wh(func(w *WebhookConfig) { w.URL = "http://soc.example/h" })}}, "alerts.notifiers[0].webhook.url"},
		{"credentials in url", Config{Notifiers: []NotifierConfig{wh(func(w *WebhookConfig) { w.URL = "https://u:p@soc.example/h" })}}, "alerts.notifiers[0].webhook.url: must not hold credentials"},
		{"no key id", Config{Notifiers: []NotifierConfig{wh(func(w *WebhookConfig) { w.KeyID = "" })}}, "alerts.notifiers[0].webhook.key_id"},
		{"no key file", Config{Notifiers: []NotifierConfig{wh(func(w *WebhookConfig) { w.PrivateKeyFile = "" })}}, "alerts.notifiers[0].webhook.private_key_file"},
		{"hmac alg", Config{Notifiers: []NotifierConfig{wh(func(w *WebhookConfig) { w.Alg = "hmac-sm3" })}}, "alerts.notifiers[0].webhook.alg"},
		{"bad digest", Config{Notifiers: []NotifierConfig{wh(func(w *WebhookConfig) { w.DigestAlg = "md5" })}}, "alerts.notifiers[0].webhook.digest_alg"},
		{"too many attempts", Config{Notifiers: []NotifierConfig{wh(func(w *WebhookConfig) { w.Attempts = 50 })}}, "alerts.notifiers[0].webhook.timeout, attempts, backoff"},
		{"smtp in clear off host", Config{Notifiers: []NotifierConfig{mail(func(s *SMTPConfig) { s.StartTLS = false })}}, "alerts.notifiers[0].smtp.starttls"},
		{"smtp bad addr", Config{Notifiers: []NotifierConfig{mail(func(s *SMTPConfig) { s.Addr = "smtp.example" })}}, "alerts.notifiers[0].smtp.addr"},
		{"smtp bad from", Config{Notifiers: []NotifierConfig{mail(func(s *SMTPConfig) { s.From = "not an address" })}}, "alerts.notifiers[0].smtp.from"},
		{"smtp no to", Config{Notifiers: []NotifierConfig{mail(func(s *SMTPConfig) { s.To = nil })}}, "alerts.notifiers[0].smtp.to"},
		{"smtp bad to", Config{Notifiers: []NotifierConfig{mail(func(s *SMTPConfig) { s.To = []string{"ok@bank.example", "nope"} })}}, "alerts.notifiers[0].smtp.to[1]"},
		{"smtp user without password file", Config{Notifiers: []NotifierConfig{mail(func(s *SMTPConfig) { s.Username = "u" })}}, "alerts.notifiers[0].smtp.username, password_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// writeSM2Key writes a PEM SM2 private key with mode and returns its verifier.
func writeSM2Key(t *testing.T, dir string, mode os.FileMode) httpsig.Verifier {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := httpsig.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "alert-webhook.pem")
	if err := os.WriteFile(p, pemBytes, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	v, err := httpsig.NewVerifier(httpsig.AlgSM2SM3, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNewFromConfigDeliversSM2SignedWebhookAndMail(t *testing.T) {
	dir := t.TempDir()
	verifier := writeSM2Key(t, dir, 0o600)
	rv := &receiver{keyID: "alert-2026", v: verifier}
	srv := httptest.NewServer(rv)
	defer srv.Close()
	sk := newSink(t)
	if err := os.WriteFile(filepath.Join(dir, "smtp-password"), []byte("pw-123456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	cfg := Config{TimeZone: "UTC", Notifiers: []NotifierConfig{
		{Name: "soc", Webhook: &WebhookConfig{URL: srv.URL + "/h", KeyID: "alert-2026", PrivateKeyFile: "alert-webhook.pem", Backoff: time.Millisecond}},
		{Name: "mail", SMTP: &SMTPConfig{Addr: sk.addr(), From: "bankguard@bank.example", To: []string{"soc@bank.example"},
			Username: "bankguard", PasswordFile: "smtp-password"}},
	}}
	m, err := New(cfg, Env{Logger: quietLogger(), Now: clk.Now, Path: func(p string) string { return filepath.Join(dir, p) }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	m.Raise(context.Background(), Alert{Rule: "blacklist.auto", Severity: Critical, Subject: "ip:203.0.113.7", Summary: "blocked"})
	flush(t, m)
	rv.mu.Lock()
	if rv.valid != 1 || len(rv.errs) != 0 {
		t.Errorf("webhook: valid=%d errs=%v", rv.valid, rv.errs)
	}
	rv.mu.Unlock()
	sk.mu.Lock()
	if len(sk.mails) != 1 || len(sk.auth) != 1 || sk.auth[0] != "bankguard:pw-123456" {
		t.Errorf("smtp: mails=%d auth=%v", len(sk.mails), sk.auth)
	}
	sk.mu.Unlock()
}

func TestNewRefusesExposedSecrets(t *testing.T) {
	dir := t.TempDir()
	writeSM2Key(t, dir, 0o644)
	path := func(p string) string { return filepath.Join(dir, p) }
	cfg := Config{Notifiers: []NotifierConfig{{Webhook: &WebhookConfig{URL: "https://soc.example/h", KeyID: "k", PrivateKeyFile: "alert-webhook.pem"}}}}
	if _, err := New(cfg, Env{Path: path}); err == nil || !strings.Contains(err.Error(), "group and others") {
		t.Errorf("a world-readable webhook key: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "pw"), []byte("x"), 0o644)
	os.Chmod(filepath.Join(dir, "pw"), 0o644)
	cfg = Config{Notifiers: []NotifierConfig{{SMTP: &SMTPConfig{Addr: "127.0.0.1:25", From: "a@b.example", To: []string{"c@b.example"},
		Username: "u", PasswordFile: "pw"}}}}
	if _, err := New(cfg, Env{Path: path}); err == nil || !strings.Contains(err.Error(), "smtp.password_file") {
		t.Errorf("a world-readable password file: %v", err)
	}
	if _, err := New(Config{DedupWindow: -1}, Env{}); err == nil {
		t.Error("an invalid config built a Manager")
	}
}
