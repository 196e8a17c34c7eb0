package oauth

import "errors"

// More errors of the server, beside those the interfaces name in oauth.go.
var (
	// ErrInvalidConsent is wrapped by CreateConsent's refusals; the wrapping
	// message says which rule the consent broke, in words fit for the page.
	ErrInvalidConsent = errors.New("invalid consent")
	// ErrRedirectURI is IssueCode's refusal of a redirect URI the app has not
	// registered. The pages must not redirect to it (RFC 6749 §4.1.2.1): they
	// show an error to the user instead.
	ErrRedirectURI = errors.New("the redirect uri is not registered for the application")
	// ErrAlreadyUsed is a store's answer when a refresh token to rotate was
	// already rotated or revoked (the loser of a race included).
	ErrAlreadyUsed = errors.New("already used")
)

// AuthError is an OAuth 2.0 error response (RFC 6749 §4.1.2.1 and §5.2):
// Code is the RFC's error code ("invalid_request", …) and Description a
// message safe to show to the application. The pages send it back to the
// app's redirect URI as error and error_description.
type AuthError struct {
	Code        string
	Description string
}

// Error returns the code and the description.
func (e *AuthError) Error() string { return e.Code + ": " + e.Description }

// The RFC 6749 §5.2 error codes the server uses.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errInvalidGrant         = "invalid_grant"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidScope         = "invalid_scope"
	errServerError          = "server_error"
)
