package alert

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"time"

	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/secret"
)

// Config configures alerting; it sits under the key "alerts" of the
// configuration file, and Validate's messages name fields from there.
type Config struct {
	// DedupWindow is how long alerts of one rule and subject join the first
	// (default 5m).
	DedupWindow time.Duration `yaml:"dedup_window"`
	// QueueSize bounds the alerts waiting to be handled (default 1024).
	QueueSize int `yaml:"queue_size"`
	// TimeZone names the zone of report days, e.g. "Asia/Shanghai"
	// (default "Local").
	TimeZone string `yaml:"time_zone"`
	// DailyReportAt is when the daily report of the day before is sent,
	// "HH:MM" in TimeZone ("" sends none; the admin API serves it anyway).
	DailyReportAt string `yaml:"daily_report_at"`
	// Notifiers receive the alerts (default: the log alone).
	Notifiers []NotifierConfig `yaml:"notifiers"`
}

// NotifierConfig is one notifier: exactly one of Log, Webhook and SMTP.
type NotifierConfig struct {
	// Name identifies it in logs (default: its kind and index).
	Name string `yaml:"name"`
	// MinSeverity keeps less severe alerts away (default info for the log,
	// warning for the others).
	MinSeverity Severity `yaml:"min_severity"`
	// RatePerMinute caps the alert notifications per minute; the rest are
	// summarized (default 30).
	RatePerMinute int `yaml:"rate_per_minute"`
	// DailyReport sends it the daily report (default true).
	DailyReport *bool `yaml:"daily_report"`

	Log     *LogConfig     `yaml:"log"`
	Webhook *WebhookConfig `yaml:"webhook"`
	SMTP    *SMTPConfig    `yaml:"smtp"`
}

// LogConfig selects the log notifier; it has no settings (`log: {}`).
type LogConfig struct{}

// WebhookConfig configures a signed webhook.
type WebhookConfig struct {
	// URL is https, or http to a loopback address.
	URL string `yaml:"url"`
	// KeyID and PrivateKeyFile (PEM, mode 0600) are the alert-signing key;
	// Alg defaults to the key's (sm2-sm3 for an SM2 key).
	KeyID          string `yaml:"key_id"`
	Alg            string `yaml:"alg"`
	PrivateKeyFile string `yaml:"private_key_file"`
	// DigestAlg is the Content-Digest algorithm: sm3 (default), sha-256, sha-512.
	DigestAlg string        `yaml:"digest_alg"`
	Timeout   time.Duration `yaml:"timeout"`
	Attempts  int           `yaml:"attempts"`
	Backoff   time.Duration `yaml:"backoff"`
}

// SMTPConfig configures e-mail. The password lives in PasswordFile (mode
// 0600), never in the configuration.
type SMTPConfig struct {
	Addr         string        `yaml:"addr"`
	From         string        `yaml:"from"`
	To           []string      `yaml:"to"`
	Username     string        `yaml:"username"`
	PasswordFile string        `yaml:"password_file"`
	StartTLS     bool          `yaml:"starttls"`
	Timeout      time.Duration `yaml:"timeout"`
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("alerts."+format, args...)) }
	if c.DedupWindow == 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.DedupWindow < time.Second || c.DedupWindow > 24*time.Hour {
		bad("dedup_window: must be between 1s and 24h")
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.QueueSize < 1 || c.QueueSize > 1<<20 {
		bad("queue_size: must be between 1 and %d", 1<<20)
	}
	if c.TimeZone == "" {
		c.TimeZone = "Local"
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		bad("time_zone: %q is not a known time zone", c.TimeZone)
	}
	if c.DailyReportAt != "" {
		if _, _, err := parseClock(c.DailyReportAt); err != nil {
			bad("daily_report_at: must be a time of day HH:MM")
		}
	}
	if len(c.Notifiers) == 0 {
		c.Notifiers = []NotifierConfig{{Log: &LogConfig{}}}
	}
	for i := range c.Notifiers {
		errs = append(errs, c.Notifiers[i].validate(fmt.Sprintf("alerts.notifiers[%d]", i), i))
	}
	return errors.Join(errs...)
}

func (n *NotifierConfig) validate(path string, i int) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(path+"."+format, args...)) }
	kind, kinds := "", 0
	if n.Log != nil {
		kind, kinds = "log", kinds+1
	}
	if n.Webhook != nil {
		kind, kinds = "webhook", kinds+1
	}
	if n.SMTP != nil {
		kind, kinds = "smtp", kinds+1
	}
	if kinds != 1 {
		return fmt.Errorf("%s: set exactly one of log, webhook and smtp", path)
	}
	if n.Name == "" {
		n.Name = fmt.Sprintf("%s-%d", kind, i)
	}
	if n.MinSeverity == "" {
		n.MinSeverity = Warning
		if kind == "log" {
			n.MinSeverity = Info
		}
	}
	if !n.MinSeverity.Valid() {
		bad("min_severity: must be info, warning or critical")
	}
	if n.RatePerMinute == 0 {
		n.RatePerMinute = DefaultRatePerMinute
	}
	if n.RatePerMinute < 1 || n.RatePerMinute > 10000 {
		bad("rate_per_minute: must be between 1 and 10000")
	}
	if n.DailyReport == nil {
		yes := true
		n.DailyReport = &yes
	}
	switch {
	case n.Webhook != nil:
		errs = append(errs, n.Webhook.validate(path+".webhook"))
	case n.SMTP != nil:
		errs = append(errs, n.SMTP.validate(path+".smtp"))
	}
	return errors.Join(errs...)
}

func (w *WebhookConfig) validate(path string) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(path+"."+format, args...)) }
	u, err := url.Parse(w.URL)
	switch {
	case err != nil || u.Host == "":
		bad("url: must be an absolute https URL")
	case u.User != nil:
		bad("url: must not hold credentials (the configuration holds no secret)")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		bad("url: must be https (http only to a loopback address)")
	case u.Scheme != "https" && u.Scheme != "http":
		bad("url: must be an absolute https URL")
	}
	if w.KeyID == "" {
		bad("key_id: is required")
	}
	if w.PrivateKeyFile == "" {
		bad("private_key_file: is required (a signing key of its own)")
	}
	if w.Alg != "" && (!httpsig.Supported(w.Alg) || httpsig.Symmetric(w.Alg)) {
		bad("alg: must be an asymmetric algorithm (sm2-sm3, ecdsa-p256-sha256, ed25519, rsa-pss-sha512)")
	}
	switch w.DigestAlg {
	case "":
		w.DigestAlg = httpsig.DigestSM3
	case httpsig.DigestSM3, httpsig.DigestSHA256, httpsig.DigestSHA512:
	default:
		bad("digest_alg: must be sm3, sha-256 or sha-512")
	}
	if w.Timeout == 0 {
		w.Timeout = DefaultWebhookTimeout
	}
	if w.Attempts == 0 {
		w.Attempts = DefaultWebhookAttempts
	}
	if w.Backoff == 0 {
		w.Backoff = DefaultWebhookBackoff
	}
	if w.Timeout < 0 || w.Timeout > time.Minute || w.Attempts < 1 || w.Attempts > 10 || w.Backoff < 0 || w.Backoff > time.Minute {
		bad("timeout, attempts, backoff: must be within 1m, 1 to 10 and within 1m")
	}
	return errors.Join(errs...)
}

func (s *SMTPConfig) validate(path string) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(path+"."+format, args...)) }
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil || host == "" {
		bad("addr: must be host:port")
	} else if !s.StartTLS && !loopback(host) {
		bad("starttls: must be true for a server off this host (alerts must not cross the network in clear)")
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		bad("from: must be an e-mail address")
	}
	if len(s.To) == 0 {
		bad("to: at least one address is required")
	}
	for i, to := range s.To {
		if _, err := mail.ParseAddress(to); err != nil {
			bad("to[%d]: must be an e-mail address", i)
		}
	}
	if (s.Username == "") != (s.PasswordFile == "") {
		bad("username, password_file: set both or neither")
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultSMTPTimeout
	}
	if s.Timeout < 0 || s.Timeout > 5*time.Minute {
		bad("timeout: must be within 5m")
	}
	return errors.Join(errs...)
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Env is what New needs besides the configuration.
type Env struct {
	// Logger receives the Manager's messages and the log notifier's lines;
	// wrap it with pii.NewSlogHandler.
	Logger *slog.Logger
	// Store keeps incidents (nil: a new MemoryStore).
	Store Store
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Path resolves the configuration's relative file names (nil: as given).
	Path func(string) string
	// HTTPClient sends webhooks (nil: a client that needs TLS 1.2 and
	// follows no redirect).
	HTTPClient *http.Client
}

// New validates cfg, loads the notifiers' keys and checks their password
// files, and starts a Manager. It does not start the daily report: run
// RunDailyReport(ctx, cfg.DailyReportAt) when that is set.
func New(cfg Config, env Env) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loc, _ := time.LoadLocation(cfg.TimeZone)
	path := env.Path
	if path == nil {
		path = func(p string) string { return p }
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.Default()
	}
	var routes []Route
	for i, nc := range cfg.Notifiers {
		var n Notifier
		switch {
		case nc.Log != nil:
			n = Log{Logger: logger}
		case nc.Webhook != nil:
			w, err := newWebhook(nc.Webhook, path, env)
			if err != nil {
				return nil, fmt.Errorf("alerts.notifiers[%d].webhook: %w", i, err)
			}
			n = w
		case nc.SMTP != nil:
			s, pw := nc.SMTP, ""
			if s.PasswordFile != "" {
				pw = path(s.PasswordFile)
				if _, err := secret.ReadPrivateFile(pw); err != nil {
					return nil, fmt.Errorf("alerts.notifiers[%d].smtp.password_file: %w", i, err)
				}
			}
			n = &SMTP{Addr: s.Addr, From: s.From, To: s.To, Username: s.Username, PasswordFile: pw,
				StartTLS: s.StartTLS, Timeout: s.Timeout, Now: env.Now}
		}
		routes = append(routes, Route{Name: nc.Name, Notifier: n, MinSeverity: nc.MinSeverity,
			RatePerMinute: nc.RatePerMinute, DailyReport: *nc.DailyReport})
	}
	return NewManager(Options{
		Routes: routes, Store: env.Store, Logger: logger, Now: env.Now,
		DedupWindow: cfg.DedupWindow, QueueSize: cfg.QueueSize, Location: loc,
	}), nil
}

// newWebhook loads a webhook's signing key.
func newWebhook(c *WebhookConfig, path func(string) string, env Env) (*Webhook, error) {
	b, err := secret.ReadPrivateFile(path(c.PrivateKeyFile))
	if err != nil {
		return nil, err
	}
	priv, err := httpsig.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("private_key_file: %w", err)
	}
	alg := c.Alg
	if alg == "" {
		if alg, err = httpsig.AlgForKey(priv); err != nil {
			return nil, fmt.Errorf("private_key_file: %w", err)
		}
	}
	signer, err := httpsig.NewSigner(alg, priv)
	if err != nil {
		return nil, fmt.Errorf("private_key_file: %w", err)
	}
	return &Webhook{URL: c.URL, KeyID: c.KeyID, Signer: signer, DigestAlg: c.DigestAlg, Client: env.HTTPClient,
		Timeout: c.Timeout, Attempts: c.Attempts, Backoff: c.Backoff, Now: env.Now}, nil
}
