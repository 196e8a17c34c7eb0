// Package blacklist refuses calls from blacklisted applications and source
// addresses, and blacklists automatically the sources of impersonation
// attempts.
//
// Entries name an App_ID or an IP/CIDR range, with an optional expiry, and
// are managed by operators through the admin API (Admin) or configured
// statically. Two stages enforce them: IPHandler right after routing, before
// any body or signature work, and AppHandler after the signature stage, once
// the calling app is verified. Both refuse with 403 blacklisted and a
// neutral detail.
//
// The Detector is fed every finished request's outcome and blocks a source
// for a while when it sees a burst of failed signatures or unknown App_IDs,
// a burst of replays, or a token presented by an app it was not issued to,
// and raises a critical alert (rule "blacklist.auto") once per block.
//
// Controls: blacklists and fault isolation of abnormal callers,
// T/PCAC 0008-2020 6.1.2-1; monitoring of unauthorized use and impersonation
// with active notification, 6.1.2-3 and 6.1.2-4; unauthorized access and
// replay, 3.3.2.
package blacklist

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind says what an entry blocks.
type Kind string

// The kinds of entry.
const (
	// KindApp blocks an App_ID.
	KindApp Kind = "app"
	// KindCIDR blocks a source address range (a single address is a /32 or /128).
	KindCIDR Kind = "cidr"
)

// Source says who made an entry.
type Source string

// The sources of entries.
const (
	// SourceManual is an operator's entry (admin API or static configuration).
	SourceManual Source = "manual"
	// SourceAuto is the Detector's.
	SourceAuto Source = "auto"
)

// Entry is one blacklisted app or address range.
type Entry struct {
	// ID names the entry for removal. List.Add assigns one when it is empty.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Value is the App_ID, or the canonical CIDR ("203.0.113.0/24",
	// "2001:db8::/48", "198.51.100.7/32").
	Value string `json:"value"`
	// Reason is for operators; it is never sent to the client.
	Reason  string    `json:"reason"`
	Source  Source    `json:"source"`
	Created time.Time `json:"created_at"`
	// Until is when the entry stops matching; zero means permanent.
	Until time.Time `json:"until,omitzero"`
}

// Active reports whether the entry matches at now.
func (e *Entry) Active(now time.Time) bool {
	return e.Until.IsZero() || now.Before(e.Until)
}

// Errors of the List.
var (
	// ErrNotFound is returned by Remove for an unknown id.
	ErrNotFound = errors.New("blacklist: no such entry")
	// ErrFull is returned by Add when the list holds its maximum of entries.
	ErrFull = errors.New("blacklist: the list is full")
)

// List is the blacklist, shared by the gateway's nodes. Memory is the
// in-process implementation; a shared one (Redis) implements the same
// methods. Implementations are safe for concurrent use and never match an
// expired entry; they drop expired entries in time.
type List interface {
	// Add stores a valid entry (see Entry.Validate). An entry with an ID
	// replaces the entry with that ID; one without gets a new ID. It
	// returns the entry as stored.
	Add(ctx context.Context, e Entry) (Entry, error)
	// Remove deletes the entry with id, or returns ErrNotFound.
	Remove(ctx context.Context, id string) error
	// List returns the entries active at now, oldest first.
	List(ctx context.Context, now time.Time) ([]Entry, error)
	// Match returns the entry active at now that blocks appID (if not
	// empty) or ip (if valid); of several, the one that lasts longest.
	Match(ctx context.Context, appID string, ip netip.Addr, now time.Time) (*Entry, bool, error)
}

// Limits on values.
const (
	maxAppID  = 64
	maxReason = 256
	// minBitsV4 and minBitsV6 keep a range from blocking a whole continent
	// by a typo: broader ranges are refused.
	minBitsV4 = 8
	minBitsV6 = 16
)

// Validate checks the entry and puts its value in canonical form.
func (e *Entry) Validate() error {
	v, err := ParseValue(e.Kind, e.Value)
	if err != nil {
		return err
	}
	e.Value = v
	switch {
	case e.Source != SourceManual && e.Source != SourceAuto:
		return fmt.Errorf("source must be %q or %q", SourceManual, SourceAuto)
	case e.Created.IsZero():
		return errors.New("created_at is required")
	case !e.Until.IsZero() && !e.Until.After(e.Created):
		return errors.New("until must be after created_at")
	}
	return checkReason(e.Reason)
}

// ParseValue checks an entry's value for its kind and returns it in
// canonical form: an App_ID as it is, an address range as a masked CIDR (a
// single address becomes a /32 or /128).
func ParseValue(kind Kind, value string) (string, error) {
	switch kind {
	case KindApp:
		if !validAppID(value) {
			return "", fmt.Errorf("an app value must be an App_ID: 1 to %d letters, digits, '.', '_', ':' or '-'", maxAppID)
		}
		return value, nil
	case KindCIDR:
		p, err := parsePrefix(value)
		if err != nil {
			return "", err
		}
		return p.String(), nil
	}
	return "", fmt.Errorf("kind must be %q or %q", KindApp, KindCIDR)
}

// parsePrefix parses an address or a CIDR range, refusing host bits, zones,
// IPv4-mapped IPv6 forms and ranges broader than /8 (IPv4) or /16 (IPv6).
func parsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, errors.New("a cidr value must be an IP address or a CIDR range such as 203.0.113.0/24 or 2001:db8::/48")
		}
		if p.Masked() != p {
			return p, fmt.Errorf("%s has host bits set; the range is %s", s, p.Masked())
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, errors.New("a cidr value must be an IP address or a CIDR range such as 203.0.113.0/24 or 2001:db8::/48")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	a := p.Addr()
	switch {
	case a.Is4In6():
		return p, errors.New("write IPv4 ranges in IPv4 form, not as IPv4-mapped IPv6")
	case a.Is4() && p.Bits() < minBitsV4:
		return p, fmt.Errorf("an IPv4 range must be /%d or narrower", minBitsV4)
	case a.Is6() && p.Bits() < minBitsV6:
		return p, fmt.Errorf("an IPv6 range must be /%d or narrower", minBitsV6)
	}
	return p, nil
}

// validAppID reports whether s can be an App_ID: 1 to 64 characters of
// letters, digits, '.', '_', ':' and '-'.
func validAppID(s string) bool {
	if len(s) == 0 || len(s) > maxAppID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// checkReason requires a reason of printable text, at most 256 characters.
func checkReason(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("reason is required")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxReason {
		return fmt.Errorf("reason must be UTF-8 text of at most %d characters", maxReason)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("reason must not contain control characters")
		}
	}
	return nil
}

// newID returns a random entry id.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "bl_" + hex.EncodeToString(b[:])
}

// normalize returns the address as entries are matched against it: IPv4
// for IPv4-mapped IPv6, without zone.
func normalize(ip netip.Addr) netip.Addr {
	return ip.Unmap().WithZone("")
}
