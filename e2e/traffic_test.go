package e2e

import "testing"

func TestTrafficScratch(t *testing.T) {
	s := startDemo(t)
	for i, u := range s.node.Sandbox.Users() {
		for _, a := range u.Accounts {
			t.Logf("user %d %s acct %s %s %s avail %s", i, u.ID, a.ID, a.Type, a.Status, a.AvailableBalance)
		}
	}
	for _, u := range s.profile.Users {
		t.Logf("profile user %s", u.Username)
	}
}
