package alert

// Valid reports whether s is one of the three severities (graded alarms:
// T/PCAC 0008-2020 6.5).
func (s Severity) Valid() bool { return s.rank() > 0 }

// AtLeast reports whether s is as severe as least or more. An unknown
// severity is below every known one.
func (s Severity) AtLeast(least Severity) bool { return s.rank() >= least.rank() }

// rank orders the severities: 0 for an unknown one, then info, warning,
// critical.
func (s Severity) rank() int {
	switch s {
	case Info:
		return 1
	case Warning:
		return 2
	case Critical:
		return 3
	}
	return 0
}

// maxSeverity returns the more severe of a and b.
func maxSeverity(a, b Severity) Severity {
	if b.rank() > a.rank() {
		return b
	}
	return a
}
