// Package fieldenc applies an API's field-level encryption: clearing and
// reconciliation data in responses is encrypted to the receiving
// application's SM2 encryption key (Outputs), and sensitive request fields
// such as a payment password must arrive encrypted to the bank's (Inputs).
// Personal financial information in transit and sensitive inputs: T/PCAC
// 0008-2020 3.2.5.
package fieldenc

import (
	"crypto/ecdsa"
	"errors"
	"net/http"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
)

// Inputs refuses requests whose sensitive fields are not sealed to one of the
// bank's encryption keys. The sealed values pass to the backend as they are:
// the gateway never holds them in clear.
type Inputs struct {
	// KnownKey reports whether keyID is one of the bank's encryption keys.
	KnownKey func(keyID string) bool
}

// ServeHTTP checks the body's sensitive fields.
func (h *Inputs) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	if ex.API == nil || len(ex.API.Protection.Sensitive) == 0 || len(ex.Body) == 0 {
		return next.ServeHTTP(w, r)
	}
	field, err := fieldcrypt.CheckSensitive(ex.Body, ex.API.Protection.Sensitive, h.KnownKey)
	switch {
	case err == nil:
		return next.ServeHTTP(w, r)
	case errors.Is(err, fieldcrypt.ErrUnknownKey):
		return problem.Wrap(err, problem.RequestInvalid, "request body field \""+field+"\" is sealed to a key that is not one of the bank's current encryption keys (see /.well-known/bankguard/encryption-keys)")
	case field != "":
		return problem.Wrap(err, problem.RequestInvalid, "request body field \""+field+"\" is sensitive and must be sealed to the bank's encryption key (sm2:v1:<keyid>:<ciphertext>, see docs/envelope.md); it is never accepted in clear")
	}
	return problem.Wrap(err, problem.RequestInvalid, "the request body is not valid JSON")
}

// RecipientKey is an application's encryption key.
type RecipientKey struct {
	ID  string
	Key *ecdsa.PublicKey
}

// Outputs encrypts an API's designated response fields to the calling
// application's encryption key.
type Outputs struct {
	// Keys returns the encryption key of an app, if it registered one.
	Keys func(appID string) (RecipientKey, bool)
	// MaxBody bounds the responses it buffers.
	MaxBody int
}

// ServeHTTP refuses an app without an encryption key before the backend is
// called, and encrypts the successful JSON response.
func (h *Outputs) ServeHTTP(w http.ResponseWriter, r *http.Request, next stage.Handler) error {
	ex := stage.FromContext(r.Context())
	if ex.API == nil || len(ex.API.Protection.Encrypt) == 0 {
		return next.ServeHTTP(w, r)
	}
	var key RecipientKey
	var ok bool
	if ex.App != nil {
		key, ok = h.Keys(ex.App.ID)
	}
	if !ok {
		return problem.New(problem.LevelInsufficient, "this API returns clearing data encrypted to the application's SM2 encryption key; register one with the bank first")
	}
	buf := stage.NewResponseBuffer(w, h.MaxBody)
	if err := next.ServeHTTP(buf, r); err != nil {
		return err
	}
	if buf.Overflow {
		return problem.Wrap(stage.ErrResponseTooLarge, problem.UpstreamUnavailable, "the bank's response could not be delivered")
	}
	switch {
	case buf.IsJSON():
		enc, err := fieldcrypt.EncryptFields(buf.Body.Bytes(), ex.API.Protection.Encrypt, key.Key, key.ID)
		if err != nil {
			// Fail closed: clearing data never leaves unencrypted.
			return problem.Wrap(err, problem.Internal, "the response could not be encrypted")
		}
		buf.SetBody(enc)
	case buf.Body.Len() > 0:
		return problem.Wrap(errors.New("a response to encrypt is not JSON"), problem.Internal, "the response could not be encrypted")
	}
	return buf.Send(w)
}

var (
	_ stage.Middleware = (*Inputs)(nil)
	_ stage.Middleware = (*Outputs)(nil)
)
