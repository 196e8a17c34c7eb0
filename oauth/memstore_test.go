package oauth_test

import (
	"testing"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/oauthtest"
)

func TestMemStore(t *testing.T) {
	oauthtest.Run(t, func(*testing.T) oauth.Store { return oauth.NewMemStore() })
}
