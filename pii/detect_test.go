package pii

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Numbers the tests use. The cards and ID numbers have valid check digits unless named bad.
const (
	card19     = "6219998345833190724" // a sandbox debit card
	card16     = "6259993483927464"    // a sandbox credit card
	cardVisa   = "4111111111111111"
	cardBad16  = "4111111111111112" // Luhn check digit wrong
	cardLog    = "6222020200112233446"
	id18       = "330106197811198076"
	idX        = "11010519800101018X"
	idBadCheck = "330106197811198075"
	idBadDate  = "110105197313328555" // check digit right, month 13
	mobile     = "13812345678"
)

type hit struct {
	kind Kind
	text string
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []hit
	}{
		// Cards.
		{"19-digit card", "card " + card19, []hit{{Card, card19}}},
		{"16-digit card", card16, []hit{{Card, card16}}},
		{"visa test card", "pan=" + cardVisa + ";", []hit{{Card, cardVisa}}},
		{"card between Chinese words", "转账给" + cardLog + "成功", []hit{{Card, cardLog}}},
		{"card before a full stop", "paid with " + cardVisa + ".", []hit{{Card, cardVisa}}},
		{"card in groups of four", "6219 9983 4583 3190 724", []hit{{Card, "6219 9983 4583 3190 724"}}},
		{"card with hyphens", "4111-1111-1111-1111", []hit{{Card, "4111-1111-1111-1111"}}},
		{"card 6 and the rest", "621999 8345833190724", []hit{{Card, "621999 8345833190724"}}},
		{"two cards in a row", cardVisa + " " + card16, []hit{{Card, cardVisa}, {Card, card16}}},
		{"card after masked card", "621999*********0724 " + cardVisa, []hit{{Card, cardVisa}}},
		{"luhn-invalid 16 digits", cardBad16, nil},
		{"luhn-invalid 19 digits", "transfer to 6222020200112233445", nil},
		{"mixed separators are not one card", "4111 1111-1111 1111", nil},
		{"card inside a longer digit run", "99" + cardVisa + "999999", nil},
		{"card glued to letters before", "abc" + cardVisa, nil},
		{"card glued to letters after", cardVisa + "abc", nil},
		{"order serial", "order 20261126223116339876241510c9d", nil},
		{"U_API_ID", "OPC999990201010100000001", nil},
		{"transaction id", "TX202611260000000053 ST2026112545510004", nil},
		{"date-like luhn-valid run", "2026112622311633985", nil},
		{"unix millis luhn-valid", "ts=1764136800000", nil},
		{"unix nanos luhn-valid", "1764136800000000000", nil},
		{"20-digit account number", "31230038584093948365", nil},
		{"amount", "12345.67 and -4718.81 CNY", nil},
		{"card-length amount", "4111111111111111.00", nil},
		{"fraction", "0.4111111111111111", nil},
		{"date and timestamp", "2026-11-26 2026-11-26T10:15:00+08:00", nil},
		{"thousands", "1,234,567,890", nil},

		// Resident identity numbers.
		{"id number", "身份证" + id18, []hit{{IDNumber, id18}}},
		{"id with X", "id " + idX + " ok", []hit{{IDNumber, idX}}},
		{"id with lower x", strings.ToLower(idX), []hit{{IDNumber, strings.ToLower(idX)}}},
		{"id grouped 6-8-4", "330106 19781119 8076", []hit{{IDNumber, "330106 19781119 8076"}}},
		{"id bad check digit", idBadCheck, nil},
		{"id impossible date", idBadDate, nil},
		{"id glued to letters", "ID" + id18, nil},
		{"id X glued to letters", idX + "Y", nil},
		{"15-digit old id", "330106781119807", nil},

		// Mobile numbers.
		{"mobile", "tel:" + mobile, []hit{{Phone, mobile}}},
		{"mobile +86", "+86" + mobile, []hit{{Phone, "+86" + mobile}}},
		{"mobile 86 joined", "86" + mobile, []hit{{Phone, "86" + mobile}}},
		{"mobile 0086", "0086 " + mobile, []hit{{Phone, "0086 " + mobile}}},
		{"mobile +86 spaced", "call +86 138 1234 5678 now", []hit{{Phone, "+86 138 1234 5678"}}},
		{"mobile hyphens", "138-1234-5678", []hit{{Phone, "138-1234-5678"}}},
		{"two mobiles spaced", "138 1234 5678 139 1234 5678", []hit{{Phone, "138 1234 5678"}, {Phone, "139 1234 5678"}}},
		{"mobile amount", "13812345678.50", nil},
		{"mobile in longer run", "138123456789", nil},
		{"not a mobile prefix", "12812345678", nil},
		{"mobile glued to letters", "u13812345678", nil},

		// E-mail addresses.
		{"email", "mail zhang.san@example.com.", []hit{{Email, "zhang.san@example.com"}}},
		{"email of digits", mobile + "@qq.com", []hit{{Email, mobile + "@qq.com"}}},
		{"email then more", "a@b.cn.x@y.cn", []hit{{Email, "a@b.cn"}, {Email, "x@y.cn"}}},
		{"email idn", "li@example.xn--fiqs8s", []hit{{Email, "li@example.xn--fiqs8s"}}},
		{"no tld", "root@localhost", nil},
		{"one-letter tld", "a@b.c", nil},
		{"bare at", "@ @@ a@ @b.cn", nil},
		{"masked email", "z***@example.com", nil},

		// Together.
		{"mixed", "用户" + id18 + "手机" + mobile + "卡" + card19 + " mail a@b.cn",
			[]hit{{IDNumber, id18}, {Phone, mobile}, {Card, card19}, {Email, "a@b.cn"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []hit
			for _, f := range Find(tc.text) {
				got = append(got, hit{f.Kind, tc.text[f.Start:f.End]})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Find(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestMaskText(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"nothing", "balance 32458.06 CNY on 2026-11-26", "balance 32458.06 CNY on 2026-11-26"},
		{"card", "转账给" + card19 + "成功", "转账给621999*********0724成功"},
		{"grouped card", "6219 9983 4583 3190 724", "6219 99** **** ***0 724"},
		{"id", "id " + id18, "id 3****************6"},
		{"id X", idX, "1****************X"},
		{"phone", mobile, "138****5678"},
		{"phone +86", "+86 138 1234 5678", "+86 138 **** 5678"},
		{"email", "mail zhang.san@example.com", "mail z***@example.com"},
		{"all", card16 + "," + mobile + "," + id18, "625999******7464,138****5678,3****************6"},
		// The last 4 digits of the masked card and the groups after it would form a
		// Luhn-valid card: masking goes on until none is left.
		{"kept digits form a new card", card19 + " 0000 0000 0000 00", "621999*********0724 0000 0000 0000 00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := MaskText(tc.text)
			if got != tc.want {
				t.Fatalf("MaskText(%q) = %q, want %q", tc.text, got, tc.want)
			}
			if fs := numericFindings(Find(got)); len(fs) > 0 {
				t.Fatalf("MaskText(%q) = %q still has %v", tc.text, got, fs)
			}
		})
	}
}

func TestMaskTextRemasks(t *testing.T) {
	// The last four digits of a masked card and the three groups after it form a 16-digit card
	// that is not in the input: the groups alone are too short, and the card before them is one
	// run, not a group of four.
	card := withLuhn("411111111111411")
	var rest string
	for g := 0; g < 10000 && rest == ""; g++ {
		if r := fmt.Sprintf("1000 0000 %04d", g); luhnValid([]byte(card[12:] + strings.ReplaceAll(r, " ", ""))) {
			rest = r
		}
	}
	in := card + " " + rest
	if fs := Find(in); len(fs) != 1 || fs[0].End != len(card) {
		t.Fatalf("Find(%q) = %v, want only the card", in, fs)
	}
	once := string(appendMasked(nil, in, Find(in)))
	if fs := Find(once); len(fs) != 1 {
		t.Fatalf("the construction no longer makes a new card: Find(%q) = %v", once, fs)
	}
	got := MaskText(in)
	if fs := numericFindings(Find(got)); len(fs) > 0 {
		t.Fatalf("MaskText(%q) = %q still has %v", in, got, fs)
	}
	if got == once {
		t.Fatalf("MaskText(%q) = %q, was not masked again", in, got)
	}
	t.Logf("%s → %s → %s", in, once, got)
}

// withLuhn returns payload with its Luhn check digit appended.
func withLuhn(payload string) string {
	for c := '0'; c <= '9'; c++ {
		if s := payload + string(c); luhnValid([]byte(s)) {
			return s
		}
	}
	panic("unreachable")
}

func TestMaskTextDoesNotCopyCleanText(t *testing.T) {
	s := strings.Repeat("余额 32458.06 CNY, 2026-11-26; ", 20)
	if n := testing.AllocsPerRun(100, func() { _ = MaskText(s) }); n != 0 {
		t.Fatalf("MaskText of clean text allocates %v times", n)
	}
}

func TestFindLinearOnHostileInput(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("a@", 1<<16),
		strings.Repeat("1 ", 1<<16),
		strings.Repeat("1-", 1<<16),
		strings.Repeat("a.", 1<<16) + "@" + strings.Repeat("b.", 1<<16),
		"x@" + strings.Repeat("a.", 1<<16) + "cn",
	} {
		_ = Find(s) // would take minutes if quadratic
		_ = MaskText(s)
	}
}

func TestFindInLongClusters(t *testing.T) {
	// More digit groups than appendCluster holds at once: a card anywhere among them is found.
	for n := 0; n <= 3*maxRuns; n++ {
		s := strings.Repeat("0 ", n) + "6219 9983 4583 3190 724 0"
		fs := Find(s)
		if len(fs) != 1 || s[fs[0].Start:fs[0].End] != "6219 9983 4583 3190 724" {
			t.Fatalf("after %d groups: Find = %v", n, fs)
		}
	}
}
