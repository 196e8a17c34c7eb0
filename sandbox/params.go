package sandbox

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Paging limits of the list APIs.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// badRequest is a client error found while reading parameters; detail names the field.
type badRequest struct{ detail string }

func invalid(field, why string) *badRequest { return &badRequest{detail: field + ": " + why} }

// validID reports whether s matches ^[A-Za-z0-9]{6,32}$, the pattern of account and product ids.
func validID(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// query reads the query string, refusing parameters the operation does not define and repeated
// ones, so that a typo is an error rather than a silently ignored filter.
func query(r *http.Request, allowed ...string) (url.Values, *badRequest) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &badRequest{detail: "the query string is malformed"}
	}
	for name, vals := range q {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		switch {
		case !known:
			return nil, invalid(strings.ToValidUTF8(name, "?"), "unknown query parameter")
		case len(vals) > 1:
			return nil, invalid(name, "must appear at most once")
		}
	}
	return q, nil
}

// pageSize reads page_size (1–100, default 20).
func pageSize(q url.Values) (int, *badRequest) {
	s := q.Get("page_size")
	if s == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || !allDigits(s) || n < 1 || n > maxPageSize {
		return 0, invalid("page_size", "must be an integer from 1 to 100")
	}
	return n, nil
}

// Page tokens are opaque to clients: base64url of "v1:" and the last item's sort key.
const tokenPrefix = "v1:"

func pageToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + key))
}

// pageKey decodes page_token; an empty token means the first page.
func pageKey(q url.Values) (string, *badRequest) {
	tok := q.Get("page_token")
	if tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(tok) > 128 || !strings.HasPrefix(string(raw), tokenPrefix) || len(raw) == len(tokenPrefix) {
		return "", invalid("page_token", "is not a token this API issued")
	}
	return string(raw[len(tokenPrefix):]), nil
}

// parseDate reads a YYYY-MM-DD date as midnight in China Standard Time.
func parseDate(field, s string) (time.Time, *badRequest) {
	t, err := time.ParseInLocation(time.DateOnly, s, cst)
	if err != nil || len(s) != len(time.DateOnly) {
		return time.Time{}, invalid(field, "must be a date in the form YYYY-MM-DD")
	}
	return t, nil
}
