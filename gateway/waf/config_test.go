package waf

import (
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ParanoiaLevel != 1 || c.AnomalyThreshold != 5 || c.MaxBodyInspect != 1<<20 || !c.inspectBodies() || c.Enabled {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"paranoia_high", Config{ParanoiaLevel: 5}, "waf.paranoia_level"},
		{"paranoia_negative", Config{ParanoiaLevel: -1}, "waf.paranoia_level"},
		{"threshold", Config{AnomalyThreshold: -5}, "waf.anomaly_threshold"},
		{"threshold_high", Config{AnomalyThreshold: 1000}, "waf.anomaly_threshold"},
		{"body_negative", Config{MaxBodyInspect: -1}, "waf.max_body_inspect"},
		{"body_huge", Config{MaxBodyInspect: 1 << 30}, "waf.max_body_inspect"},
		{"exclusion_word", Config{Exclusions: []string{"942100", "sqli"}}, "waf.exclusions[1]"},
		{"exclusion_range_empty", Config{Exclusions: []string{"942199-942100"}}, "waf.exclusions[0]"},
		// Exclusions become directives: nothing but ids may pass.
		{"exclusion_injection", Config{Exclusions: []string{"942100\nSecRuleEngine Off"}}, "waf.exclusions[0]"},
		{"exclusion_space", Config{Exclusions: []string{"942100 942200"}}, "waf.exclusions[0]"},
		// Exclusions that would switch blocking off.
		{"exclusion_blocking", Config{Exclusions: []string{"920100", "949110"}}, "waf.exclusions[1]"},
		{"exclusion_init_range", Config{Exclusions: []string{"900000-999999"}}, "waf.exclusions[0]"},
		{"exclusion_body_error", Config{Exclusions: []string{"200002"}}, "waf.exclusions[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			if _, err := New(tc.cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestDirectives(t *testing.T) {
	c := Config{Enabled: true, ParanoiaLevel: 3, AnomalyThreshold: 7, Exclusions: []string{"920350"}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.directives()
	for _, want := range []string{
		"SecRuleEngine On",
		"SecRequestBodyAccess On",
		"setvar:tx.blocking_paranoia_level=3",
		"setvar:tx.inbound_anomaly_score_threshold=7",
		"SecRuleRemoveById 920350",
		"SecAuditEngine Off",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("directives lack %q", want)
		}
	}
	// The settings come before the rules that read them, the exclusions after.
	if strings.Index(d, "blocking_paranoia_level") > strings.Index(d, "@owasp_crs") ||
		strings.Index(d, "ruleRemoveTargetById=942100") > strings.Index(d, "@owasp_crs") ||
		strings.Index(d, "SecRuleRemoveById") < strings.Index(d, "@owasp_crs") {
		t.Errorf("directives out of order:\n%s", d)
	}
}
