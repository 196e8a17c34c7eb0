package pii

import (
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  Kind
		value string
		want  string
	}{
		{"card 19", Card, "6219999814660352367", "621999*********2367"},
		{"card 16", Card, "6259993483927464", "625999******7464"},
		{"card 13", Card, "4222222222222", "422222***2222"},
		{"card grouped", Card, "6222 0202 0011 2233 446", "6222 02** **** ***3 446"},
		{"card short", Card, "123456789012", "********9012"},
		{"card tiny", Card, "1234567", "*******"},
		{"account", Account, "31230038584093948365", "****************8365"},
		{"account short", Account, "1234567", "***4567"},
		{"account tiny", Account, "123456", "******"},
		{"id 18", IDNumber, "330106197811198076", "3****************6"},
		{"id X", IDNumber, "11010519800101018X", "1****************X"},
		{"id passport", IDNumber, "E12345678", "E*******8"},
		{"id tiny", IDNumber, "1234", "****"},
		{"phone", Phone, "18035413832", "180****3832"},
		{"phone +86", Phone, "+8618035413832", "+86180****3832"},
		{"phone 0086 spaced", Phone, "0086 180 3541 3832", "0086 180 **** 3832"},
		{"phone landline", Phone, "010-12345678", "010-****5678"},
		{"phone 8 digits", Phone, "12345678", "****5678"},
		{"phone tiny", Phone, "1234567", "*******"},
		{"name 3", Name, "朱宇志", "**志"},
		{"name 2", Name, "李四", "*四"},
		{"name 1", Name, "李", "*"},
		{"name minority", Name, "阿卜杜拉·艾山", "****·*山"},
		{"name latin", Name, "Zhang San", "***** **n"},
		{"email", Email, "zhang.san@example.com", "z***@example.com"},
		{"email cjk local", Email, "张三@example.cn", "张***@example.cn"},
		{"email no local", Email, "@example.com", "***@example.com"},
		{"email no at", Email, "zhangsan", "********"},
		{"unknown kind", Kind("other"), "秘密 data-1", "** ****-*"},
		{"empty", Card, "", ""},
		{"masked card stays", Card, "621999*********2367", "621999*********2367"},
		{"masked phone stays", Phone, "180****3832", "180****3832"},
		{"masked name stays", Name, "**志", "**志"},
		{"invalid utf-8", Name, "\xff\xfe李", "**李"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.kind, tc.value); got != tc.want {
				t.Fatalf("Mask(%s, %q) = %q, want %q", tc.kind, tc.value, got, tc.want)
			}
		})
	}
}

func TestHintFor(t *testing.T) {
	for _, tc := range []struct {
		member string
		want   Kind
	}{
		{"holder_name", Name}, {"name", Name}, {"to_name", Name}, {"counterparty_name", Name},
		{"customerName", Name}, {"RealName", Name}, {"last_name", Name}, {"cardholder", Name},
		{"product_name", ""}, {"bank_name", ""}, {"branchName", ""}, {"file_name", ""},
		{"holder_id_number", IDNumber}, {"id_no", IDNumber}, {"idCard", IDNumber},
		{"id_card_no", IDNumber}, {"certificate_no", IDNumber}, {"passport_number", IDNumber},
		{"holder_phone", Phone}, {"mobile", Phone}, {"phoneNumber", Phone}, {"tel", Phone},
		{"hotel", ""},
		{"card_number", Card}, {"to_card_number", Card}, {"cardNo", Card}, {"bank_card", Card},
		{"account_number", Account}, {"account_no", Account}, {"acct_no", Account},
		{"counterparty_account", Account}, {"payee_account", Account}, {"account", Account},
		{"account_id", ""}, {"serial_no", ""}, {"order_number", ""},
		{"email", Email}, {"contact_email", Email}, {"email_address", Email}, {"e-mail", Email},
		{"balance", ""}, {"currency", ""}, {"type", ""}, {"", ""},
	} {
		if got := hintFor([]byte(tc.member)); got != tc.want {
			t.Errorf("hintFor(%q) = %q, want %q", tc.member, got, tc.want)
		}
	}
}

func TestLooksLikeName(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"孙晨晨", true}, {"李四", true}, {"欧阳娜娜", true}, {"阿卜杜拉·艾山", true},
		{"Zhang San", true}, {"ZHANG SAN", true}, {"Mary-Jane O'Neil", true},
		{"李", false}, {"诸葛孔明先生", false}, {"优选商城", false}, {"鲜丰生活超市", false},
		{"沙盒稳健180天理财", false}, {"城市公用事业缴费中心", false}, {"Starbucks", false},
		{"Apple Store", false}, {"Sandbox Tech Ltd", false}, {"张三3", false}, {"张 San", false},
		{"", false},
	} {
		if got := looksLikeName([]byte(tc.value)); got != tc.want {
			t.Errorf("looksLikeName(%q) = %v, want %v", tc.value, got, tc.want)
		}
	}
}

func TestDecodeRuneAgreesWithUTF8(t *testing.T) {
	check := func(b []byte) {
		r, n := decodeRune(b, 0)
		wr, wn := utf8.DecodeRune(b)
		if r != wr || n != wn {
			t.Fatalf("decodeRune(% x) = %U, %d; utf8.DecodeRune = %U, %d", b, r, n, wr, wn)
		}
		if sr, sn := decodeRune(string(b), 0); sr != r || sn != n {
			t.Fatalf("decodeRune of the string % x differs", b)
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
			if a >= 0xE0 {
				for c := range 256 {
					check([]byte{byte(a), byte(b), byte(c)})
					if a >= 0xF0 && a < 0xF6 {
						check([]byte{byte(a), byte(b), byte(c), 0x80})
						check([]byte{byte(a), byte(b), byte(c), 0xBF})
						check([]byte{byte(a), byte(b), byte(c), 0x7F})
					}
				}
			}
		}
	}
}
