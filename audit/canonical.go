package audit

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendCanonical appends the canonical encoding of r — byte for byte what
// encoding/json.Marshal produces for it, which a test asserts — without
// reflection: it runs once per request.
func appendCanonical(b []byte, r *Record) ([]byte, error) {
	b = append(b, `{"log":`...)
	b = appendJSONString(b, r.Log)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, r.Seq, 10)
	b = append(b, `,"txn_id":`...)
	b = appendJSONString(b, r.TxnID)
	b = append(b, `,"timestamp":"`...)
	b = r.Time.UTC().Truncate(time.Millisecond).AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","app_id":`...)
	b = appendJSONString(b, r.AppID)
	b = append(b, `,"api_id":`...)
	b = appendJSONString(b, r.APIID)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"keyid":`...)
	b = appendJSONString(b, r.KeyID)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendInt(b, r.LatencyMS, 10)
	b = append(b, `,"result":`...)
	b = appendJSONString(b, r.Result)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"error_code":`...)
	b = appendJSONString(b, r.ErrorCode)
	b = append(b, `,"user":`...)
	b = appendJSONString(b, r.User)
	b = append(b, `,"client_ip":`...)
	b = appendJSONString(b, r.ClientIP)
	if len(r.Body) > 0 {
		body, err := json.Marshal(r.Body) // compacts and escapes as Marshal does
		if err != nil {
			return nil, err
		}
		b = append(b, `,"body":`...)
		b = append(b, body...)
	}
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json encodes a string: HTML
// characters and U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
