package pii

// info is what one pass over the bytes of a value tells the scan before it reads the value: most
// values have neither digits nor an '@' and cannot be a name, and then no member-name hint
// applies to them and the detectors find nothing in them.
type info struct {
	digits  int   // ASCII digits
	class   uint8 // the classes of its bytes, or-ed
	escaped bool  // a string with escapes: digits and class are not known (scanString)
}

// minFindDigits is the fewest digits a number of Find has: a mobile number has 11, an identity
// number 17 and a card 13 or more.
const minFindDigits = 11

// mayFind reports whether Find may find something in the value.
func (in info) mayFind() bool {
	return in.digits >= minFindDigits || in.class&clAt != 0
}

// mayChange reports whether the scan may change the value: most values are neither a name nor
// have digits or an '@', and then no member-name hint applies to them (classify) and the
// detectors find nothing in them.
func (in info) mayChange() bool {
	return in.digits > 0 || in.class&clAt != 0 || in.mayName()
}

// mayName reports whether looksLikeName may accept the value: it has no digit and no ASCII
// but letters and the separators of a name, and either has a character outside ASCII or
// separates two words.
func (in info) mayName() bool {
	return in.class&(clDigit|clOther) == 0 && in.class&(clHigh|clSep) != 0
}

// The classes of bytes.
const (
	clDigit uint8 = 1 << iota // ASCII digits; must be 1, it is added up
	clAt                      // '@'
	clHigh                    // bytes of UTF-8 sequences, and bytes that are not UTF-8
	clSep                     // ' ', '.', '\'' and '-', which may separate the words of a name
	clOther                   // ASCII that is neither a letter nor a digit nor clSep
	clStop                    // '"', '\\' and control characters, where scanString stops
)

// byteClass is the class of every byte.
var byteClass = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		switch {
		case isDigit(b):
			t[c] = clDigit
		case isAlnum(b):
		case b >= 0x80:
			t[c] = clHigh
		case b == ' ' || b == '.' || b == '\'' || b == '-':
			t[c] = clSep
		case b == '@':
			t[c] = clAt | clOther
		case b == '"' || b == '\\' || b < 0x20:
			t[c] = clStop | clOther
		default:
			t[c] = clOther
		}
	}
	return t
}()

// infoOf returns the info of v, unescaped.
func infoOf(v []byte) info {
	var in info
	for _, b := range v {
		c := byteClass[b]
		in.class |= c
		in.digits += int(c & clDigit)
	}
	return in
}
