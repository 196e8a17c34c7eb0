package risk

import (
	"errors"
	"fmt"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/jsonptr"
)

// Kind is what a rule measures.
type Kind string

// The rule kinds (T/PCAC 0008-2020 6.2.3: large or abnormal transactions).
const (
	// SingleAmount fires on a transfer of at least Threshold.
	SingleAmount Kind = "single_amount"
	// DailyUser fires when a transfer brings the user's total of the day
	// (Asia/Shanghai) to at least Threshold.
	DailyUser Kind = "daily_user"
	// DailyApp fires when a transfer brings the app's total of the day
	// (Asia/Shanghai) to at least Threshold.
	DailyApp Kind = "daily_app"
	// Velocity fires on the user's transfer that is more than Count within
	// Window.
	Velocity Kind = "velocity"
	// NewPayee fires on the user's first transfer to a payee.
	NewPayee Kind = "new_payee"
)

// Action is what a fired rule does. When several rules fire, the strongest
// action wins: reject > hold > notice > alert; every fired rule is alerted.
type Action string

// The actions.
const (
	// ActionAlert raises an alert and lets the transfer pass.
	ActionAlert Action = "alert"
	// ActionNotice lets the transfer pass with a risk notice in the response
	// that the app must show the user (T/PCAC 0008-2020 6.2.2-4).
	ActionNotice Action = "notice"
	// ActionHold keeps the transfer until the bank confirms it (202
	// transaction_held); the app then resubmits it.
	ActionHold Action = "hold"
	// ActionReject refuses the transfer (403 transaction_rejected).
	ActionReject Action = "reject"
)

// strength orders the actions; 0 is no action.
func (a Action) strength() int {
	switch a {
	case ActionAlert:
		return 1
	case ActionNotice:
		return 2
	case ActionHold:
		return 3
	case ActionReject:
		return 4
	}
	return 0
}

// Defaults.
const (
	DefaultAmountPointer   = "/amount"
	DefaultPayeePointer    = "/to_card_number"
	DefaultHoldExpiry      = time.Hour
	DefaultResubmitWindow  = 15 * time.Minute
	DefaultPayeeMemory     = 400 * 24 * time.Hour
	DefaultMaxResponseBody = 8 << 20
	// MaxVelocityWindow bounds a velocity window (and so what the counters keep).
	MaxVelocityWindow = 24 * time.Hour
)

// Config configures the transaction risk rules. It sits under the `risk`
// key of the gateway's configuration; Validate's messages use that path.
type Config struct {
	// Enabled turns the stage on; off, fund APIs pass unassessed.
	Enabled bool `yaml:"enabled"`
	// AmountPointer is the JSON pointer (RFC 6901) to the transfer's amount
	// in the request body: a decimal string of yuan, "1234.56" (a JSON
	// number written the same way is accepted too). Default /amount.
	AmountPointer string `yaml:"amount_pointer"`
	// PayeePointer is the JSON pointer to the payee's card or account
	// number, read only if a new_payee rule is configured. Default
	// /to_card_number.
	PayeePointer string `yaml:"payee_pointer"`
	// Rules are evaluated on every call of a fund API.
	Rules []Rule `yaml:"rules"`
	// HoldExpiry is how long a held transfer waits for the bank's decision
	// (default 1h).
	HoldExpiry time.Duration `yaml:"hold_expiry"`
	// ResubmitWindow is how long after its confirmation a held transfer may
	// be resubmitted (default 15m).
	ResubmitWindow time.Duration `yaml:"resubmit_window"`
	// PayeeMemory is how long a user's payee stays known after the last
	// transfer to it (default 400 days).
	PayeeMemory time.Duration `yaml:"payee_memory"`
	// MaxResponseBody bounds the response buffered to add a risk notice
	// (default 8 MiB).
	MaxResponseBody int `yaml:"max_response_body"`
}

// Rule is one risk rule.
type Rule struct {
	// Name identifies the rule in alerts ("risk.<name>") and metrics:
	// lower-case letters, digits and underscores. It is never sent to apps.
	Name string `yaml:"name"`
	Kind Kind   `yaml:"kind"`
	// Threshold is a decimal amount of yuan, "50000.00": required by
	// single_amount, daily_user and daily_app.
	Threshold string `yaml:"threshold"`
	// Count and Window define velocity: more than Count transfers within Window.
	Count  int           `yaml:"count"`
	Window time.Duration `yaml:"window"`
	Action Action        `yaml:"action"`
	// Severity of the rule's alerts: info, warning (default) or critical.
	Severity alert.Severity `yaml:"severity"`
	// MessageZH and MessageEN replace the default risk notice texts of the
	// rule's kind (action notice).
	MessageZH string `yaml:"message_zh"`
	MessageEN string `yaml:"message_en"`

	threshold Fen
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	if c.AmountPointer == "" {
		c.AmountPointer = DefaultAmountPointer
	}
	if c.PayeePointer == "" {
		c.PayeePointer = DefaultPayeePointer
	}
	if c.HoldExpiry == 0 {
		c.HoldExpiry = DefaultHoldExpiry
	}
	if c.ResubmitWindow == 0 {
		c.ResubmitWindow = DefaultResubmitWindow
	}
	if c.PayeeMemory == 0 {
		c.PayeeMemory = DefaultPayeeMemory
	}
	if c.MaxResponseBody == 0 {
		c.MaxResponseBody = DefaultMaxResponseBody
	}
	var errs []error
	if !jsonptr.Valid(c.AmountPointer) {
		errs = append(errs, fmt.Errorf("risk.amount_pointer: %q is not a JSON pointer such as /amount", c.AmountPointer))
	}
	if !jsonptr.Valid(c.PayeePointer) {
		errs = append(errs, fmt.Errorf("risk.payee_pointer: %q is not a JSON pointer such as /to_card_number", c.PayeePointer))
	}
	durations := []struct {
		name string
		d    time.Duration
	}{{"hold_expiry", c.HoldExpiry}, {"resubmit_window", c.ResubmitWindow}, {"payee_memory", c.PayeeMemory}}
	for _, d := range durations {
		if d.d < time.Minute {
			errs = append(errs, fmt.Errorf("risk.%s: must be at least 1m", d.name))
		}
	}
	if c.MaxResponseBody < 1024 {
		errs = append(errs, errors.New("risk.max_response_body: must be at least 1024"))
	}
	seen := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("risk.rules[%d].name: %q is used twice", i, r.Name))
		}
		seen[r.Name] = true
		errs = append(errs, r.validate(fmt.Sprintf("risk.rules[%d]", i)))
	}
	return errors.Join(errs...)
}

func (r *Rule) validate(path string) error {
	var errs []error
	if !validName(r.Name) {
		errs = append(errs, fmt.Errorf("%s.name: %q must be 1 to 64 lower-case letters, digits and underscores", path, r.Name))
	}
	if r.Action.strength() == 0 {
		errs = append(errs, fmt.Errorf("%s.action: %q is not one of alert, notice, hold, reject", path, r.Action))
	}
	if r.Severity == "" {
		r.Severity = alert.Warning
	}
	switch r.Severity {
	case alert.Info, alert.Warning, alert.Critical:
	default:
		errs = append(errs, fmt.Errorf("%s.severity: %q is not one of info, warning, critical", path, r.Severity))
	}
	switch r.Kind {
	case SingleAmount, DailyUser, DailyApp:
		f, err := ParseAmount(r.Threshold)
		if err != nil || f == 0 {
			errs = append(errs, fmt.Errorf("%s.threshold: %q must be a positive decimal amount in yuan such as \"50000.00\"", path, r.Threshold))
		}
		r.threshold = f
		if r.Count != 0 || r.Window != 0 {
			errs = append(errs, fmt.Errorf("%s: count and window apply to velocity rules only", path))
		}
	case Velocity:
		if r.Count < 1 {
			errs = append(errs, fmt.Errorf("%s.count: must be at least 1", path))
		}
		if r.Window < time.Second || r.Window > MaxVelocityWindow {
			errs = append(errs, fmt.Errorf("%s.window: must be between 1s and 24h", path))
		}
		if r.Threshold != "" {
			errs = append(errs, fmt.Errorf("%s.threshold: does not apply to velocity rules", path))
		}
	case NewPayee:
		if r.Threshold != "" || r.Count != 0 || r.Window != 0 {
			errs = append(errs, fmt.Errorf("%s: threshold, count and window do not apply to new_payee rules", path))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.kind: %q is not one of single_amount, daily_user, daily_app, velocity, new_payee", path, r.Kind))
	}
	return errors.Join(errs...)
}

// validName reports whether s is a rule name: [a-z0-9_]{1,64}.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
