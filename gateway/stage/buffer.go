package stage

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
)

// ErrResponseTooLarge is returned by ResponseBuffer.Write past its limit.
var ErrResponseTooLarge = errors.New("stage: response too large to buffer")

// ResponseBuffer is a ResponseWriter that holds a response so a stage can
// transform it (mask, encrypt, sign) before it is sent.
type ResponseBuffer struct {
	header  http.Header
	initial http.Header // the headers set before buffering, restored by Reset
	// Status is the response status (200 unless WriteHeader said otherwise).
	Status int
	// Body is the response body as written.
	Body bytes.Buffer
	max  int
	// Overflow reports that a write went past the limit.
	Overflow bool
}

// NewResponseBuffer buffers a response to w of at most max bytes; it starts
// with a copy of w's headers. (w's own headers are left as they are until
// Send, so Reset can restore them.)
func NewResponseBuffer(w http.ResponseWriter, max int) *ResponseBuffer {
	return &ResponseBuffer{header: w.Header().Clone(), initial: w.Header(), Status: http.StatusOK, max: max}
}

// Header returns the buffered headers.
func (b *ResponseBuffer) Header() http.Header { return b.header }

// WriteHeader records the status; informational responses are dropped.
func (b *ResponseBuffer) WriteHeader(status int) {
	if status >= 200 {
		b.Status = status
	}
}

// Write buffers p, or fails past the limit.
func (b *ResponseBuffer) Write(p []byte) (int, error) {
	if b.Body.Len()+len(p) > b.max {
		b.Overflow = true
		return 0, ErrResponseTooLarge
	}
	return b.Body.Write(p)
}

// Reset drops what was written, keeping only the headers set before buffering.
func (b *ResponseBuffer) Reset() {
	b.header = b.initial.Clone()
	b.Status = http.StatusOK
	b.Body.Reset()
	b.Overflow = false
}

// SetBody replaces the body.
func (b *ResponseBuffer) SetBody(p []byte) {
	b.Body.Reset()
	b.Body.Write(p)
}

// IsJSON reports whether the buffered response is a successful JSON document.
func (b *ResponseBuffer) IsJSON() bool {
	if b.Status < 200 || b.Status >= 300 || b.Body.Len() == 0 {
		return false
	}
	mt, _, err := mime.ParseMediaType(b.header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// Send writes the buffered response to w, replacing w's headers.
func (b *ResponseBuffer) Send(w http.ResponseWriter) error {
	b.header.Set("Content-Length", strconv.Itoa(b.Body.Len()))
	dst := w.Header()
	clear(dst)
	for k, v := range b.header {
		dst[k] = v
	}
	w.WriteHeader(b.Status)
	_, err := w.Write(b.Body.Bytes())
	return err
}
