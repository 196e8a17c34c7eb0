// Package httpsig implements HTTP Message Signatures (RFC 9421) and the
// Content-Digest field (RFC 9530) for bankguard's signing profile.
//
// The same code serves both ends of an exchange: the gateway verifies request
// signatures and signs responses, the client SDK signs requests and verifies
// responses. Besides RFC 9421's algorithms it implements the two extensions of
// the profile, hmac-sm3 and sm2-sm3, and the sm3 content digest.
//
// Data integrity and non-repudiation: T/PCAC 0008-2020 3.2.4 and 5.2.2 (bank
// side), 11.2.1 and 11.3.3 (application side): a MAC (hmac-*) for A1
// interfaces, a digital signature with a national algorithm (sm2-sm3) for A2.
//
// The package derives the signature base and checks signatures; policy (which
// components and parameters are required, freshness of created and expires,
// nonce replay, key lookup by keyid) belongs to the caller.
//
// A typical verification:
//
//	sigs, err := httpsig.ParseSignatures(r.Header)
//	// choose the signature by label, look its keyid up, check the policy
//	err = sigs[0].Verify(httpsig.NewRequestMessage(r), verifier)
package httpsig

import "errors"

// Sentinel errors. Errors returned by the package wrap one of them (test with
// errors.Is) and add a short reason; they never contain key material or the
// signature base.
var (
	// ErrMissing reports that a message carries no signature.
	ErrMissing = errors.New("httpsig: no signature")
	// ErrMalformed reports a syntax or structure error in Signature-Input,
	// Signature, Content-Digest or a component identifier.
	ErrMalformed = errors.New("httpsig: malformed signature field")
	// ErrVerification reports a signature that does not verify.
	ErrVerification = errors.New("httpsig: signature verification failed")
	// ErrComponent reports a covered component that cannot be derived from
	// the message, such as an absent header field.
	ErrComponent = errors.New("httpsig: component cannot be derived")
	// ErrUnsupportedAlg reports an unknown signature or digest algorithm.
	ErrUnsupportedAlg = errors.New("httpsig: unsupported algorithm")
	// ErrInvalidKey reports a key of the wrong type, curve or size for an algorithm.
	ErrInvalidKey = errors.New("httpsig: invalid key")
	// ErrDigestMissing reports that no supported Content-Digest is present.
	ErrDigestMissing = errors.New("httpsig: content digest missing")
	// ErrDigestMismatch reports a Content-Digest that does not match the content.
	ErrDigestMismatch = errors.New("httpsig: content digest mismatch")
)

// sigError wraps a sentinel with a reason, without fmt.
type sigError struct {
	kind   error
	reason string
}

func (e *sigError) Error() string { return e.kind.Error() + ": " + e.reason }
func (e *sigError) Unwrap() error { return e.kind }

func wrap(kind error, reason string) error { return &sigError{kind: kind, reason: reason} }

func malformed(reason string) error { return wrap(ErrMalformed, reason) }

// componentErr reports a component that cannot be derived, naming it.
func componentErr(c Component, reason string) error {
	return wrap(ErrComponent, c.String()+": "+reason)
}
