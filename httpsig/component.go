package httpsig

// Component identifies one covered component of a signature (RFC 9421 §2): an
// HTTP field or a derived component, with its parameters. The zero value of a
// parameter means it is absent.
type Component struct {
	// Name is the lower-case field name ("content-digest") or the derived
	// component name ("@method").
	Name string
	// Key selects one member of a Dictionary structured field (;key="…").
	Key string
	// Param is the name parameter of "@query-param" (;name="…"), in its
	// percent-encoded form (RFC 9421 §2.2.8).
	Param string
	// SF asks for the strict structured-field serialization (;sf).
	SF bool
	// BS wraps each field line as a byte sequence (;bs).
	BS bool
	// Req takes the component from the request of a signed response (;req).
	Req bool
	// Tr takes the field from the trailers (;tr); trailers are not supported.
	Tr bool

	// order records the order of the parameters as parsed, three bits per
	// parameter code, so that a received identifier is re-serialized
	// exactly. Parameters set but not recorded follow in the default order.
	order uint32
}

// Component parameter codes, in the default serialization order.
const (
	cpKey = iota + 1
	cpName
	cpSF
	cpBS
	cpReq
	cpTr
	cpLast = cpTr
)

// ParseComponent parses a component identifier in its serialized form, as it
// appears in Signature-Input, e.g. `"@query-param";name="Pet"` or
// `"content-digest";sf`. It returns an error wrapping ErrMalformed.
func ParseComponent(s string) (Component, error) {
	p := sfParser{s: s}
	p.skipSP()
	c, err := p.component()
	if err != nil {
		return Component{}, err
	}
	p.skipSP()
	if !p.eof() {
		return Component{}, malformed("trailing characters after component")
	}
	return c, checkComponent(c)
}

// component parses one component identifier: a String with parameters.
func (p *sfParser) component() (Component, error) {
	if p.peek() != '"' {
		return Component{}, malformed("component identifier is not a string")
	}
	v, err := p.str()
	if err != nil {
		return Component{}, err
	}
	c := Component{Name: v.str}
	shift := 0
	err = p.params(func(k string, v sfBare) error {
		code := 0
		switch k {
		case "key", "name":
			if v.kind != sfString || v.str == "" {
				return malformed("component parameter " + k + " must be a non-empty string")
			}
			if k == "key" {
				code, c.Key = cpKey, v.str
			} else {
				code, c.Param = cpName, v.str
			}
		case "sf", "bs", "req", "tr":
			if v.kind != sfBoolean || v.num != 1 {
				return malformed("component parameter " + k + " must be a true boolean")
			}
			switch k {
			case "sf":
				code, c.SF = cpSF, true
			case "bs":
				code, c.BS = cpBS, true
			case "req":
				code, c.Req = cpReq, true
			default:
				code, c.Tr = cpTr, true
			}
		default:
			return malformed("unknown component parameter")
		}
		c.order |= uint32(code) << shift
		shift += 3
		return nil
	})
	return c, err
}

// String returns the identifier serialized as it appears in a signature base
// and in Signature-Input, e.g. `"@query-param";name="Pet"`. A component
// obtained from ParseComponent or ParseSignatures keeps the order of its
// parameters as received.
func (c Component) String() string {
	return string(appendComponent(make([]byte, 0, len(c.Name)+len(c.Key)+len(c.Param)+24), c))
}

// appendComponent appends the serialized identifier of c.
func appendComponent(dst []byte, c Component) []byte {
	dst = appendString(dst, c.Name)
	var done uint32
	for o := c.order; o != 0; o >>= 3 {
		code := int(o & 7)
		dst = appendComponentParam(dst, c, code)
		done |= 1 << code
	}
	for code := cpKey; code <= cpLast; code++ {
		if done&(1<<code) == 0 {
			dst = appendComponentParam(dst, c, code)
		}
	}
	return dst
}

func appendComponentParam(dst []byte, c Component, code int) []byte {
	switch {
	case code == cpKey && c.Key != "":
		dst = appendString(append(dst, ";key="...), c.Key)
	case code == cpName && c.Param != "":
		dst = appendString(append(dst, ";name="...), c.Param)
	case code == cpSF && c.SF:
		dst = append(dst, ";sf"...)
	case code == cpBS && c.BS:
		dst = append(dst, ";bs"...)
	case code == cpReq && c.Req:
		dst = append(dst, ";req"...)
	case code == cpTr && c.Tr:
		dst = append(dst, ";tr"...)
	}
	return dst
}

// equal reports whether two identifiers are the same; the order of their
// parameters does not matter (RFC 9421 §2).
func (c Component) equal(d Component) bool {
	return c.Name == d.Name && c.Key == d.Key && c.Param == d.Param &&
		c.SF == d.SF && c.BS == d.BS && c.Req == d.Req && c.Tr == d.Tr
}

// checkComponent checks what RFC 9421 requires of an identifier regardless of
// the message: a lower-case name, parameters that apply to it, compatible
// parameters, and values that serialize as Strings.
func checkComponent(c Component) error {
	n := c.Name
	switch {
	case n == "":
		return malformed("empty component name")
	case n == "@signature-params":
		return malformed(`"@signature-params" cannot be covered`)
	case !printable(c.Key) || !printable(c.Param):
		return malformed("component parameter is not printable ascii")
	}
	derived := n[0] == '@'
	start := 0
	if derived {
		start = 1
		if len(n) == 1 {
			return malformed("empty derived component name")
		}
	}
	for i := start; i < len(n); i++ {
		ch := n[i]
		switch {
		case ch >= 'A' && ch <= 'Z':
			return malformed("component names must be lower case")
		case derived && !isLCAlpha(ch) && !isDigit(ch) && ch != '-':
			return malformed("invalid derived component name")
		case !derived && !isTchar(ch):
			return malformed("invalid field name")
		}
	}
	if derived {
		if c.Key != "" || c.SF || c.BS || c.Tr {
			return malformed("field parameter on a derived component")
		}
		if (c.Param != "") != (n == "@query-param") {
			return malformed(`the name parameter belongs to "@query-param" only, and is required there`)
		}
		return nil
	}
	if c.Param != "" {
		return malformed("the name parameter does not apply to a field")
	}
	if c.BS && (c.SF || c.Key != "") {
		return malformed("bs cannot be combined with sf or key")
	}
	return nil
}

// appendString appends s serialized as a String; s must be printable ASCII.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// printable reports whether s holds only printable ASCII (the String alphabet).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
