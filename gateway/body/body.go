// Package body reads the request body once, bounded in size, and checks its
// media type against what the API accepts. Later stages (digest verification,
// validation, the proxy) use the bytes read here.
package body

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// DefaultLimit is the default maximum request body size.
const DefaultLimit = 1 << 20

// Handler is the body stage.
type Handler struct {
	// Limit is the maximum body size in bytes (0 means DefaultLimit).
	Limit int64
	// MediaTypes returns the media types an API accepts for its body; none
	// means the API takes no body.
	MediaTypes func(apiID string) []string
}

// ServeHTTP reads and checks the body: 413 body_too_large, 415
// unsupported_media_type, 400 request_invalid for a body the API does not take.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	limit := h.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if r.ContentLength > limit {
		return problem.Newf(problem.BodyTooLarge, "the request body may be at most %d bytes", limit)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return next.ServeHTTP(w, r) // no body, nothing to read or check
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return problem.Newf(problem.BodyTooLarge, "the request body may be at most %d bytes", limit)
		}
		return problem.Wrap(err, problem.RequestInvalid, "the request body could not be read")
	}
	ex.Body = b
	r.Body = io.NopCloser(bytes.NewReader(b))

	var accepted []string
	if ex.API != nil && h.MediaTypes != nil {
		accepted = h.MediaTypes(ex.API.ID)
	}
	if len(b) == 0 {
		return next.ServeHTTP(w, r)
	}
	if len(accepted) == 0 {
		return problem.New(problem.RequestInvalid, "this API takes no request body")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(accepted, strings.ToLower(mt)) {
		return problem.Newf(problem.UnsupportedMediaType, "the request body must be %s", strings.Join(accepted, " or ")).
			WithHeader("Accept-Post", strings.Join(accepted, ", "))
	}
	return next.ServeHTTP(w, r)
}

var _ stage.Middleware = (*Handler)(nil)
