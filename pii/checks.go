package pii

// Check digits and plausibility tests of the numbers the detectors look for. Each takes the
// significant characters only (separators removed).

// luhnValid reports whether d (ASCII digits) ends in its Luhn (ISO/IEC 7812-1) check digit.
func luhnValid(d []byte) bool {
	if len(d) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if v > 9 {
			return false
		}
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// plausibleCard reports whether d (13–19 digits) is a card number worth masking in free text:
// a valid Luhn check digit and a major industry identifier a bank card can have. Numbers
// starting with 0, 1 (airline cards, but mostly Unix timestamps and counters) or 7, or with 2
// outside the Mastercard range 2221–2720 (dates such as 20261126…) are left alone.
func plausibleCard(d []byte) bool {
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	switch d[0] {
	case '3', '4', '5', '6', '8', '9':
	case '2':
		p := int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
		if p < 221 || p > 720 {
			return false
		}
	default:
		return false
	}
	return luhnValid(d)
}

// gbWeights are the GB 11643-1999 weights 2^(17-i) mod 11 of the first 17 digits.
var gbWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// validResidentID reports whether d is an 18-character resident identity number: 17 digits and
// the right GB 11643-1999 check character (a digit or X/x), a region code that starts with a
// province code (or 9, the permanent residence cards of foreigners), and a real birth date
// between 1900 and 2099.
func validResidentID(d []byte) bool {
	if len(d) != 18 {
		return false
	}
	sum := 0
	for i, w := range gbWeights {
		v := d[i] - '0'
		if v > 9 {
			return false
		}
		sum += int(v) * w
	}
	check := "10X98765432"[sum%11]
	if c := d[17]; c != check && !(check == 'X' && c == 'x') {
		return false
	}
	if !provinceCode(d[0], d[1]) && d[0] != '9' {
		return false
	}
	year := atoi(d[6:10])
	month := atoi(d[10:12])
	day := atoi(d[12:14])
	return year >= 1900 && year <= 2099 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year)
}

// provinceCode reports whether a and b form the code of a province-level division (GB/T 2260),
// including 71 Taiwan and 81–83 for residence permits of Hong Kong, Macao and Taiwan residents.
func provinceCode(a, b byte) bool {
	switch a {
	case '1':
		return b >= '1' && b <= '5'
	case '2':
		return b >= '1' && b <= '3'
	case '3':
		return b >= '1' && b <= '7'
	case '4':
		return b >= '1' && b <= '6'
	case '5':
		return b >= '0' && b <= '4'
	case '6':
		return b >= '1' && b <= '5'
	case '7':
		return b == '1'
	case '8':
		return b >= '1' && b <= '3'
	}
	return false
}

// atoi parses a short run of ASCII digits.
func atoi(d []byte) int {
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n
}

// daysIn returns the number of days of a month in the Gregorian calendar.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// validMobile reports whether d is a mainland mobile number: 11 digits, 1[3-9]xxxxxxxxx.
func validMobile(d []byte) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// mobileWithCountry returns the length of the country prefix (86 or 0086) when d is a mainland
// mobile number written with it, and 0 otherwise.
func mobileWithCountry(d []byte) int {
	switch {
	case len(d) == 13 && d[0] == '8' && d[1] == '6' && validMobile(d[2:]):
		return 2
	case len(d) == 15 && string(d[:4]) == "0086" && validMobile(d[4:]):
		return 4
	}
	return 0
}
