package blacklist

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// detailRefused is the one detail of every blacklisted refusal: it says
// neither why nor whether the app or the address is blocked.
const detailRefused = "access is refused; contact the bank if you believe this is an error"

// detailUnavailable is the detail when the list cannot be consulted.
const detailUnavailable = "access cannot be checked at the moment; retry later"

// IPHandler refuses calls from blacklisted source addresses
// (T/PCAC 0008-2020 6.1.2-1). It runs right after routing, before the body
// is read or a signature verified, so that a blocked source costs little.
type IPHandler struct {
	List List
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// ServeHTTP refuses a blacklisted client address with 403 blacklisted
// (Retry-After: the seconds left, when the entry expires). A client
// address that cannot be parsed or a list that cannot be consulted fails
// closed: 500 and 503 internal.
func (h *IPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	ip, err := netip.ParseAddr(ex.ClientIP)
	if err != nil {
		return problem.Wrap(errors.New("blacklist: the client address cannot be parsed"), problem.Internal,
			"the request could not be processed")
	}
	if err := check(r.Context(), h.List, "", ip, clock(h.Now)); err != nil {
		return err
	}
	return next.ServeHTTP(w, r)
}

// AppHandler refuses calls from blacklisted applications
// (T/PCAC 0008-2020 6.1.2-1, 6.1.2-3). It runs after the signature stage:
// only a verified app is looked up, so that nobody gets another app
// refused by claiming its keyid.
type AppHandler struct {
	List List
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// ServeHTTP refuses a blacklisted verified app with 403 blacklisted
// (Retry-After as IPHandler's); 503 internal if the list cannot be
// consulted. A request without a verified app passes: it has none to match.
func (h *AppHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	if ex.App == nil {
		return next.ServeHTTP(w, r)
	}
	if err := check(r.Context(), h.List, ex.App.ID, netip.Addr{}, clock(h.Now)); err != nil {
		return err
	}
	return next.ServeHTTP(w, r)
}

// check looks appID and ip up and returns the refusal, if any.
func check(ctx context.Context, list List, appID string, ip netip.Addr, now time.Time) error {
	if list == nil {
		return problem.Wrap(errors.New("blacklist: no list configured"), problem.Internal, detailUnavailable).
			WithStatus(http.StatusServiceUnavailable)
	}
	e, found, err := list.Match(ctx, appID, ip, now)
	if err != nil {
		return problem.Wrap(err, problem.Internal, detailUnavailable).WithStatus(http.StatusServiceUnavailable)
	}
	if !found {
		return nil
	}
	return refusal(e, now)
}

// refusal is the 403 for a matching entry. The entry's id, kind and source
// stay in the internal cause; the client learns only how long to wait.
func refusal(e *Entry, now time.Time) *problem.Error {
	pe := problem.Wrap(fmt.Errorf("blacklist: entry %s (%s, %s)", e.ID, e.Kind, e.Source), problem.Blacklisted, detailRefused)
	if !e.Until.IsZero() {
		left := e.Until.Sub(now)
		secs := int64((left + time.Second - 1) / time.Second)
		pe.WithHeader("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	return pe
}

func clock(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

var (
	_ stage.Middleware = (*IPHandler)(nil)
	_ stage.Middleware = (*AppHandler)(nil)
)
