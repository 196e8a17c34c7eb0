package sandbox

import "testing"

func TestFenString(t *testing.T) {
	for _, tc := range []struct {
		in   fen
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {100, "1.00"}, {1234567, "12345.67"}, {-5, "-0.05"}, {-471881, "-4718.81"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("fen(%d).String() = %q, want %q", int64(tc.in), got, tc.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want fen
		ok   bool
	}{
		{"100", 100_00, true},
		{"100.5", 100_50, true},
		{"100.05", 100_05, true},
		{"0.01", 1, true},
		{"0", 0, true},
		{"999999999999.99", maxAmount, true},
		{"1000000000000", 0, false},
		{"1.234", 0, false},
		{"1.", 0, false},
		{".5", 0, false},
		{"-1.00", 0, false},
		{"+1.00", 0, false},
		{"1e3", 0, false},
		{" 1.00", 0, false},
		{"１.00", 0, false}, // full-width digit
		{"", 0, false},
	} {
		got, ok := parseAmount(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "100.00", "1.5", "999999999999.99", "1.234", "-1", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseAmount(s)
		if !ok {
			return
		}
		if v < 0 || v > maxAmount {
			t.Fatalf("parseAmount(%q) = %d out of range", s, v)
		}
		if back, ok := parseAmount(v.String()); !ok || back != v {
			t.Fatalf("round trip of %q: %q → %d, %v", s, v.String(), back, ok)
		}
	})
}
