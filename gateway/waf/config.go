package waf

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Defaults of Config.
const (
	// DefaultParanoiaLevel is the CRS paranoia level: 1 blocks only what is
	// almost surely an attack.
	DefaultParanoiaLevel = 1
	// DefaultAnomalyThreshold is the CRS inbound anomaly score at which a
	// request is blocked: one critical match (score 5) suffices.
	DefaultAnomalyThreshold = 5
	// DefaultMaxBodyInspect is the largest body inspected (the body stage's
	// default limit); larger bodies are refused, not passed uninspected.
	DefaultMaxBodyInspect = 1 << 20

	maxAnomalyThreshold = 100
	maxBodyInspect      = 16 << 20
)

// Config configures injection filtering (T/PCAC 0008-2020 3.3.2).
type Config struct {
	// Enabled turns the filter on. Off, the stage passes every request.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// ParanoiaLevel is the OWASP CRS blocking paranoia level, 1 to 4
	// (default 1). Higher levels add rules that catch more obfuscated
	// attacks and refuse more legitimate input.
	ParanoiaLevel int `yaml:"paranoia_level" json:"paranoia_level"`
	// AnomalyThreshold is the CRS inbound anomaly score that blocks a
	// request (default 5: a critical rule counts 5, an error 4, a warning 3).
	AnomalyThreshold int `yaml:"anomaly_threshold" json:"anomaly_threshold"`
	// Exclusions are CRS rule ids ("942100") or id ranges ("942100-942199")
	// to disable, for false positives the bank has reviewed. Each one
	// weakens the filter: record why in the configuration. The rules that
	// blocking depends on (200002, 901xxx, 949xxx) cannot be excluded.
	Exclusions []string `yaml:"exclusions" json:"exclusions"`
	// InspectBodies makes the filter inspect request bodies (JSON and form
	// bodies are parsed into arguments). Default true.
	InspectBodies *bool `yaml:"inspect_bodies" json:"inspect_bodies"`
	// MaxBodyInspect is the largest body in bytes the filter inspects
	// (default 1 MiB, at most 16 MiB). A larger body is refused with 413,
	// never passed on uninspected.
	MaxBodyInspect int `yaml:"max_body_inspect" json:"max_body_inspect"`
}

// ruleRange is an exclusion: one id or an inclusive range of ids.
var ruleRange = regexp.MustCompile(`^([0-9]{1,9})(?:-([0-9]{1,9}))?$`)

// Validate checks the configuration and fills in defaults. It checks the
// fields also when the filter is disabled, so that turning it on later
// cannot fail.
func (c *Config) Validate() error {
	if c.ParanoiaLevel == 0 {
		c.ParanoiaLevel = DefaultParanoiaLevel
	}
	if c.AnomalyThreshold == 0 {
		c.AnomalyThreshold = DefaultAnomalyThreshold
	}
	if c.MaxBodyInspect == 0 {
		c.MaxBodyInspect = DefaultMaxBodyInspect
	}
	if c.InspectBodies == nil {
		on := true
		c.InspectBodies = &on
	}
	if c.ParanoiaLevel < 1 || c.ParanoiaLevel > 4 {
		return fmt.Errorf("waf.paranoia_level: must be 1 to 4, not %d", c.ParanoiaLevel)
	}
	if c.AnomalyThreshold < 1 || c.AnomalyThreshold > maxAnomalyThreshold {
		return fmt.Errorf("waf.anomaly_threshold: must be 1 to %d, not %d", maxAnomalyThreshold, c.AnomalyThreshold)
	}
	if c.MaxBodyInspect < 1 || c.MaxBodyInspect > maxBodyInspect {
		return fmt.Errorf("waf.max_body_inspect: must be 1 to %d bytes, not %d", maxBodyInspect, c.MaxBodyInspect)
	}
	for i, e := range c.Exclusions {
		if err := checkExclusion(e); err != nil {
			return fmt.Errorf("waf.exclusions[%d]: %w", i, err)
		}
	}
	return nil
}

// checkExclusion accepts "N" or "N-M" with N ≤ M. Exclusions go into
// SecLang directives, so nothing else may pass.
func checkExclusion(e string) error {
	m := ruleRange.FindStringSubmatch(e)
	if m == nil {
		return fmt.Errorf("%q is not a rule id or an id range like 942100-942199", e)
	}
	lo, _ := strconv.Atoi(m[1])
	hi := lo
	if m[2] != "" {
		hi, _ = strconv.Atoi(m[2])
	}
	if lo > hi {
		return fmt.Errorf("%q: the range is empty", e)
	}
	for _, k := range keepRules {
		if lo <= k.hi && k.lo <= hi {
			return fmt.Errorf("%q would remove %s: the filter would then pass what it cannot judge", e, k.what)
		}
	}
	return nil
}

// keepRules may not be excluded: without them the filter fails open.
var keepRules = []struct {
	lo, hi int
	what   string
}{
	{200002, 200002, "the refusal of unparseable bodies"},
	{901000, 901999, "the CRS initialization"},
	{949000, 949999, "the CRS blocking evaluation"},
}

// inspectBodies reports the effective InspectBodies (default true).
func (c *Config) inspectBodies() bool { return c.InspectBodies == nil || *c.InspectBodies }

// Rule ids of bankguard's own rules (below CRS's 9xxxxx range).
const (
	ruleHeaderSQLi   = 10101
	ruleHeaderXSS    = 10102
	ruleHeaderScheme = 10103
)

// inspectedElsewhere are the headers bankguard's header rules skip: those
// CRS already inspects for SQL and script injection (User-Agent, Referer,
// Cookie), and those whose values are random (RFC 9421 signatures and their
// nonces, RFC 9530 digests, bearer tokens) and checked for syntax by the
// signature and token stages. A random value trips libinjection now and then
// (see exclusions.go): there it would refuse requests at random.
var inspectedElsewhere = []string{
	"User-Agent", "Referer", "Cookie",
	"Signature", "Signature-Input", "Content-Digest", "Authorization",
}

// directives is the SecLang configuration of the WAF: Coraza's recommended
// base, the CRS setup, bankguard's settings and built-in tuning, the CRS
// rules, the configured exclusions and bankguard's header rules. CRS
// inspects only User-Agent, Referer and cookies for SQL injection; the
// header rules (10101-10103) extend libinjection and a script-URL check to
// the other headers, which backends may log or store as well. The order
// matters: CRS's initialization (rule 901) keeps variables already set, and
// rules of one phase run in the order they are defined.
func (c *Config) directives() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	line("Include @coraza.conf-recommended")
	// Block, do not only detect; bodies per InspectBodies; responses are
	// not inspected here; no audit log files (the gateway audits).
	line("SecRuleEngine On")
	if c.inspectBodies() {
		line("SecRequestBodyAccess On")
	} else {
		line("SecRequestBodyAccess Off")
	}
	line("SecRequestBodyLimit %d", c.MaxBodyInspect)
	line("SecRequestBodyInMemoryLimit %d", c.MaxBodyInspect)
	line("SecRequestBodyLimitAction Reject")
	line("SecResponseBodyAccess Off")
	line("SecAuditEngine Off")

	line("Include @crs-setup.conf.example")
	line(`SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%d"`, c.ParanoiaLevel)
	line(`SecAction "id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%d"`, c.AnomalyThreshold)
	// The route stage already refuses methods an API does not declare;
	// CRS by default would refuse PUT, PATCH and DELETE.
	line(`SecAction "id:900200,phase:1,pass,t:none,nolog,setvar:'tx.allowed_methods=GET HEAD POST PUT PATCH DELETE OPTIONS'"`)

	b.WriteString(builtinExclusions())

	line("Include @owasp_crs/*.conf")
	// CRS rules that read every request header (941120's event-handler
	// pattern, for one) match random base64 now and then: never inspect the
	// signature, digest and token headers, which the signature and token
	// stages check for syntax. Without this about one call in 1,500 was
	// refused at random.
	line(`SecRuleUpdateTargetByTag "OWASP_CRS" "!REQUEST_HEADERS:Signature|!REQUEST_HEADERS:Signature-Input|!REQUEST_HEADERS:Content-Digest|!REQUEST_HEADERS:Authorization"`)

	for _, e := range c.Exclusions {
		line("SecRuleRemoveById %s", e)
	}

	skip := ""
	for _, h := range inspectedElsewhere {
		skip += "|!REQUEST_HEADERS:" + h
	}
	header := func(id int, op, attack, msg string) {
		line(`SecRule REQUEST_HEADERS%s "%s" "id:%d,phase:1,block,capture,t:none,t:utf8toUnicode,t:urlDecodeUni,t:htmlEntityDecode,t:removeNulls,msg:'%s',tag:'bankguard',tag:'%s',tag:'paranoia-level/1',severity:'CRITICAL',multiMatch,setvar:'tx.inbound_anomaly_score_pl1=+%%{tx.critical_anomaly_score}'"`,
			skip, op, id, msg, attack)
	}
	header(ruleHeaderSQLi, "@detectSQLi", "attack-sqli", "SQL injection in a request header")
	header(ruleHeaderXSS, "@detectXSS", "attack-xss", "Script injection in a request header")
	header(ruleHeaderScheme, `@rx (?i)\b(?:java|vb)script[\s\x0b]*:`, "attack-xss", "Script URL in a request header")
	return b.String()
}
