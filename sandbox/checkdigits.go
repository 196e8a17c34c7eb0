package sandbox

// Check digits of the identifiers the sandbox issues. The generator uses them to make valid
// numbers; the transfer API uses luhnValid to refuse mistyped payee cards.

// luhnCheckDigit returns the Luhn (ISO/IEC 7812-1) check digit to append to payload, which must
// be all ASCII digits.
func luhnCheckDigit(payload string) byte {
	sum := 0
	double := true // the rightmost payload digit is doubled once the check digit is appended
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// luhnValid reports whether number is all digits and ends in its Luhn check digit.
func luhnValid(number string) bool {
	if len(number) < 2 || !allDigits(number) {
		return false
	}
	return luhnCheckDigit(number[:len(number)-1]) == number[len(number)-1]
}

// gbCheckDigit returns the GB 11643-1999 check character ('0'–'9' or 'X') of the first 17
// digits of a resident identity number.
func gbCheckDigit(first17 string) byte {
	// The weights are 2^(17-i) mod 11.
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// gbValid reports whether id is an 18-character resident identity number whose check character
// is right.
func gbValid(id string) bool {
	if len(id) != 18 || !allDigits(id[:17]) {
		return false
	}
	return gbCheckDigit(id[:17]) == id[17]
}
