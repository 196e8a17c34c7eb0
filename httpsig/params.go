package httpsig

import (
	"strconv"
	"time"
)

// Params holds the signature parameters (RFC 9421 §2.3). A zero value means
// the parameter is absent.
type Params struct {
	// Created and Expires are Unix times with second precision.
	Created, Expires time.Time
	// Nonce, KeyID, Alg and Tag are the nonce, keyid, alg and tag parameters.
	Nonce, KeyID, Alg, Tag string

	// order records the parameter order as received, four bits per code;
	// ppExtra stands for the next entry of extra. Parameters set but not
	// recorded follow in the default order.
	order uint64
	// extra keeps, in order, the received parameters this type has no field
	// for (unknown ones, and known ones with an empty value), so that the
	// "@signature-params" line is reproduced as received.
	extra []extraParam
}

// extraParam is a received parameter kept verbatim.
type extraParam struct {
	key string
	raw string // canonical serialization of the value; "" for boolean true
}

// Signature parameter codes, in the default serialization order (the order of
// RFC 9421's examples).
const (
	ppCreated = iota + 1
	ppExpires
	ppKeyID
	ppNonce
	ppAlg
	ppTag
	ppExtra
)

// maxSFInteger is the largest Structured Field Integer.
const maxSFInteger = 999_999_999_999_999

// appendTo appends the serialized parameters.
func (p *Params) appendTo(dst []byte) ([]byte, error) {
	var done uint
	next := 0
	var err error
	for o := p.order; o != 0; o >>= 4 {
		code := int(o & 15)
		if code == ppExtra {
			if next >= len(p.extra) {
				continue
			}
			e := p.extra[next]
			next++
			dst = append(append(dst, ';'), e.key...)
			if e.raw != "" {
				dst = append(append(dst, '='), e.raw...)
			}
			continue
		}
		if dst, err = p.appendParam(dst, code); err != nil {
			return nil, err
		}
		done |= 1 << code
	}
	for code := ppCreated; code < ppExtra; code++ {
		if done&(1<<code) == 0 {
			if dst, err = p.appendParam(dst, code); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}

func (p *Params) appendParam(dst []byte, code int) ([]byte, error) {
	switch code {
	case ppCreated:
		return appendTime(dst, ";created=", p.Created)
	case ppExpires:
		return appendTime(dst, ";expires=", p.Expires)
	case ppKeyID:
		return appendStringParam(dst, ";keyid=", p.KeyID)
	case ppNonce:
		return appendStringParam(dst, ";nonce=", p.Nonce)
	case ppAlg:
		return appendStringParam(dst, ";alg=", p.Alg)
	case ppTag:
		return appendStringParam(dst, ";tag=", p.Tag)
	}
	return dst, nil
}

func appendTime(dst []byte, prefix string, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return dst, nil
	}
	n := t.Unix()
	if n > maxSFInteger || n < -maxSFInteger {
		return nil, malformed("time parameter out of range")
	}
	return strconv.AppendInt(append(dst, prefix...), n, 10), nil
}

func appendStringParam(dst []byte, prefix, v string) ([]byte, error) {
	if v == "" {
		return dst, nil
	}
	if !printable(v) {
		return nil, malformed("parameter is not printable ascii")
	}
	return appendString(append(dst, prefix...), v), nil
}

// set records one received signature parameter (RFC 9421 §2.3): created and
// expires must be Integers, nonce, keyid, alg and tag Strings. Other
// parameters are kept verbatim.
func (p *Params) set(k string, v sfBare, shift int) error {
	code := ppExtra
	switch k {
	case "created", "expires":
		if v.kind != sfInteger {
			return malformed(k + " is not an integer")
		}
		if k == "created" {
			code, p.Created = ppCreated, time.Unix(v.num, 0)
		} else {
			code, p.Expires = ppExpires, time.Unix(v.num, 0)
		}
	case "keyid", "nonce", "alg", "tag":
		if v.kind != sfString {
			return malformed(k + " is not a string")
		}
		if v.str != "" {
			switch k {
			case "keyid":
				code, p.KeyID = ppKeyID, v.str
			case "nonce":
				code, p.Nonce = ppNonce, v.str
			case "alg":
				code, p.Alg = ppAlg, v.str
			default:
				code, p.Tag = ppTag, v.str
			}
		}
	}
	if code == ppExtra {
		raw := v.raw
		switch {
		case v.kind == sfBoolean && v.num == 1:
			raw = ""
		case v.kind == sfBytes:
			var err error
			if raw, err = canonicalBytes(v.b64); err != nil {
				return err
			}
		}
		p.extra = append(p.extra, extraParam{key: k, raw: raw})
	}
	p.order |= uint64(code) << shift
	return nil
}
