package proxy

import "errors"

// IsRefusal reports whether err is a backend's 4xx refusal passed on to the
// application (its code is the backend's, not one of the gateway's own
// controls): metrics tell the two apart.
func IsRefusal(err error) bool {
	var r *upstreamRefusal
	return errors.As(err, &r)
}
