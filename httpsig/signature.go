package httpsig

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// Input defines one signature: its label, the ordered covered components and
// the signature parameters.
type Input struct {
	// Label is the dictionary key of the signature in Signature-Input and
	// Signature, e.g. "sig" (a Structured Field key).
	Label string
	// Components are the covered components, in order.
	Components []Component
	// Params are the signature parameters.
	Params Params
}

// Covers reports whether in covers c: same name and same parameters, in any
// order.
func (in Input) Covers(c Component) bool {
	for _, d := range in.Components {
		if d.equal(c) {
			return true
		}
	}
	return false
}

// Limits on what ParseSignatures accepts, against inputs built to be slow.
const (
	maxComponents = 64
	maxMembers    = 64
)

// Signature is one signature received in a message.
type Signature struct {
	// Input is the signature's definition from Signature-Input.
	Input Input
	// Value is the decoded signature from Signature.
	Value []byte
}

// Sign signs m as in defines with s. It returns the dictionary members to add
// to the Signature-Input and Signature fields, e.g.
// `sig=("@method" "@path");created=1618884473` and `sig=:…:`; SignHeader adds
// them for you. When in.Params.Alg is set it must name s's algorithm.
func Sign(m *Message, in Input, s Signer) (sigInput, sig string, err error) {
	if s == nil {
		return "", "", wrap(ErrInvalidKey, "no signer")
	}
	if !validKey(in.Label) {
		return "", "", malformed("label is not a structured field key")
	}
	if in.Params.Alg != "" && in.Params.Alg != s.Alg() {
		return "", "", wrap(ErrUnsupportedAlg, "alg parameter does not match the signer")
	}
	base, at, err := signatureBase(m, in)
	if err != nil {
		return "", "", err
	}
	value, err := s.Sign(base)
	if err != nil {
		return "", "", err
	}
	sigInput = in.Label + "=" + string(base[at:])
	sig = in.Label + "=:" + base64.StdEncoding.EncodeToString(value) + ":"
	return sigInput, sig, nil
}

// SignHeader signs m as Sign does and adds the members to the Signature-Input
// and Signature fields of h, replacing members that carry the same label and
// keeping the others. h is usually m.Header.
func SignHeader(h http.Header, m *Message, in Input, s Signer) error {
	sigInput, sig, err := Sign(m, in, s)
	if err != nil {
		return err
	}
	if err := setMember(h, "Signature-Input", in.Label, sigInput); err != nil {
		return err
	}
	return setMember(h, "Signature", in.Label, sig)
}

// setMember adds member to the dictionary field, replacing the member with
// the same label. Other members keep their text.
func setMember(h http.Header, field, label, member string) error {
	lines := h.Values(field)
	if len(lines) == 0 {
		h.Set(field, member)
		return nil
	}
	joined := joinLines(lines)
	p := sfParser{s: joined}
	var kept []string
	found := false
	err := p.dict(func(k string, hasValue bool) error {
		start := p.off - len(k)
		if hasValue {
			start--
		}
		var err error
		if hasValue {
			err = p.skipMember()
		} else {
			err = p.skipParams()
		}
		if k == label {
			found = true
		} else {
			kept = append(kept, joined[start:p.off])
		}
		return err
	})
	if err != nil {
		return malformed("existing " + strings.ToLower(field) + " field is malformed")
	}
	if !found {
		h.Add(field, member)
		return nil
	}
	h.Set(field, strings.Join(append(kept, member), ", "))
	return nil
}

// ParseSignatures parses the Signature-Input and Signature fields of h (each
// a Dictionary; several field lines are combined) and pairs their members by
// label, in the order of Signature-Input.
//
// It returns ErrMissing when neither field is present (or both are empty),
// and an error wrapping ErrMalformed for a syntax error, a label present in
// only one field, a member of the wrong type, a component identifier that is
// not a String, an unknown or repeated component parameter, a duplicate
// component, created or expires not an Integer, and similar faults.
//
// Each Signature keeps the order of its component and signature parameters,
// and any unknown signature parameters, so that Verify reproduces the
// "@signature-params" line as received.
func ParseSignatures(h http.Header) ([]Signature, error) {
	inLines := headerValues(h, "signature-input")
	sigLines := headerValues(h, "signature")
	if len(inLines) == 0 && len(sigLines) == 0 {
		return nil, ErrMissing
	}
	var sigs []Signature
	p := sfParser{s: joinLines(inLines)}
	err := p.dict(func(label string, hasValue bool) error {
		if !hasValue || p.peek() != '(' {
			return malformed("signature-input member is not an inner list")
		}
		in, err := p.input(label)
		if err != nil {
			return err
		}
		sigs = append(sigs, Signature{Input: in})
		return nil
	})
	if err != nil {
		return nil, err
	}
	matched := 0
	q := sfParser{s: joinLines(sigLines)}
	err = q.dict(func(label string, hasValue bool) error {
		if !hasValue || q.peek() != ':' {
			return malformed("signature member is not a byte sequence")
		}
		v, err := q.bytes()
		if err != nil {
			return err
		}
		if err := q.skipParams(); err != nil {
			return err
		}
		for i := range sigs {
			if sigs[i].Input.Label == label {
				sigs[i].Value, err = decodeBytes(nil, v.b64)
				matched++
				return err
			}
		}
		return malformed("signature label missing from signature-input")
	})
	if err != nil {
		return nil, err
	}
	if matched != len(sigs) {
		return nil, malformed("signature-input label missing from signature")
	}
	if len(sigs) == 0 {
		return nil, ErrMissing
	}
	return sigs, nil
}

// input parses one Signature-Input member: an inner list of component
// identifiers with the signature parameters.
func (p *sfParser) input(label string) (Input, error) {
	in := Input{Label: label, Components: make([]Component, 0, 8)}
	err := p.innerList(func() error {
		c, err := p.component()
		if err != nil {
			return err
		}
		if err := checkComponent(c); err != nil {
			return err
		}
		if len(in.Components) == maxComponents {
			return malformed("too many components")
		}
		for _, d := range in.Components {
			if d.equal(c) {
				return malformed("duplicate component " + c.String())
			}
		}
		in.Components = append(in.Components, c)
		return nil
	})
	if err != nil {
		return Input{}, err
	}
	shift := 0
	err = p.params(func(k string, v sfBare) error {
		err := in.Params.set(k, v, shift)
		shift += 4
		return err
	})
	return in, err
}

// Verify rebuilds the signature base from m and checks the signature with v.
// It returns ErrVerification when the signature does not match (or its alg
// parameter names another algorithm than v's), ErrComponent (naming the
// component) when a covered component cannot be derived from m, and
// ErrMalformed for an invalid Input.
//
// Verify checks the signature only: the caller enforces its policy on
// covered components, created, expires, nonce and keyid.
func (s Signature) Verify(m *Message, v Verifier) error {
	if v == nil {
		return wrap(ErrInvalidKey, "no verifier")
	}
	if s.Input.Params.Alg != "" && s.Input.Params.Alg != v.Alg() {
		return wrap(ErrVerification, "alg parameter does not match the key")
	}
	base, _, err := signatureBase(m, s.Input)
	if err != nil {
		return err
	}
	return v.Verify(base, s.Value)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// joinLines combines the field lines of one field for parsing. A single line
// is returned as is, without copying.
func joinLines(lines []string) string {
	if len(lines) == 1 {
		return lines[0]
	}
	return strings.Join(lines, ", ")
}
