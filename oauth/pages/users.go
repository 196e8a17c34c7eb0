package pages

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// User is a bank customer who can sign in on the pages.
type User struct {
	// ID is the bank's customer id (what consents and tokens name).
	ID string
	// Username is what the customer types to sign in.
	Username string
	// PasswordHash is an argon2id PHC string made by HashPassword.
	PasswordHash string
	// TOTPSecret is the RFC 6238 shared secret, or nil when the customer has
	// no second factor enrolled (then no fund scope can be granted). A
	// stored implementation keeps it sealed (package secret).
	TOTPSecret []byte
	// Name is the customer's name, shown to them on their own pages only.
	Name string
}

// Users looks customers up. Both methods answer oauth.ErrNotFound (wrapped
// or not) for an unknown customer.
type Users interface {
	UserByName(ctx context.Context, username string) (*User, error)
	UserByID(ctx context.Context, id string) (*User, error)
}

// MemUsers is an in-memory Users for tests and the demo.
type MemUsers struct {
	mu     sync.RWMutex
	byName map[string]*User
	byID   map[string]*User
}

// NewMemUsers returns a MemUsers holding users.
func NewMemUsers(users ...User) (*MemUsers, error) {
	m := &MemUsers{byName: map[string]*User{}, byID: map[string]*User{}}
	for _, u := range users {
		if err := m.Add(u); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Add stores a user; its ID and Username must be new.
func (m *MemUsers) Add(u User) error {
	if u.ID == "" || u.Username == "" || u.PasswordHash == "" {
		return fmt.Errorf("pages: a user needs an id, a username and a password hash")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byName[u.Username] != nil || m.byID[u.ID] != nil {
		return fmt.Errorf("pages: user already exists")
	}
	c := cloneUser(&u)
	m.byName[u.Username], m.byID[u.ID] = c, c
	return nil
}

// UserByName implements Users.
func (m *MemUsers) UserByName(_ context.Context, username string) (*User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if u := m.byName[username]; u != nil {
		return cloneUser(u), nil
	}
	return nil, oauth.ErrNotFound
}

// UserByID implements Users.
func (m *MemUsers) UserByID(_ context.Context, id string) (*User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if u := m.byID[id]; u != nil {
		return cloneUser(u), nil
	}
	return nil, oauth.ErrNotFound
}

func cloneUser(u *User) *User {
	c := *u
	c.TOTPSecret = append([]byte(nil), u.TOTPSecret...)
	if u.TOTPSecret == nil {
		c.TOTPSecret = nil
	}
	return &c
}

// Account is an account a user may share, as the consent page shows it.
type Account struct {
	ID string
	// Label is already masked, e.g. "借记卡 6219 **** 0120": the pages never
	// show an account number whole (T/PCAC 0008-2020 3.2.5).
	Label string
}

// Accounts lists a customer's accounts.
type Accounts interface {
	AccountsOf(ctx context.Context, userID string) ([]Account, error)
}

// MemAccounts is an in-memory Accounts (customer id → accounts) for tests
// and the demo.
type MemAccounts map[string][]Account

// AccountsOf implements Accounts.
func (m MemAccounts) AccountsOf(_ context.Context, userID string) ([]Account, error) {
	return append([]Account(nil), m[userID]...), nil
}

// The kinds of events the pages record in a user's history.
const (
	EventLogin              = oauth.EventLogin
	EventLoginFailed        = "login_failed"
	EventSecondFactorFailed = "second_factor_failed"
	EventLocked             = "locked"
	EventConsentDenied      = "consent_denied"
	EventLogout             = "logout"
)

// EventSink records the pages' events in a user's history: sign-ins,
// failed sign-ins and second factors, lockouts, refused authorizations,
// sign-outs (the bank-side record of T/PCAC 0008-2020 13.2-3). Details never
// hold a password, code, secret or token. Consents given and revoked are
// recorded by the authorization server, which does them (oauth.Server
// records "consent" and "consent_revoked"), so the pages do not record them
// twice. oauth.Server implements EventSink and EventsSource.
type EventSink interface {
	AddEvent(ctx context.Context, userID, kind, detail string)
}

// Event is one entry of a user's history: the authorization server's event
// record, of which the pages use Time, Kind and Detail.
type Event = oauth.Event

// EventsSource reads a user's history, newest first. When the EventSink
// given to New also implements it, the self-service page shows the history.
type EventsSource interface {
	Events(ctx context.Context, userID string, limit int) ([]Event, error)
}

// MemEvents is an in-memory EventSink and EventsSource for tests and the
// demo. It keeps the last 1000 events of each user.
type MemEvents struct {
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu     sync.Mutex
	events map[string][]Event
}

const memEventsPerUser = 1000

// AddEvent implements EventSink.
func (m *MemEvents) AddEvent(_ context.Context, userID, kind, detail string) {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events == nil {
		m.events = map[string][]Event{}
	}
	l := append(m.events[userID], Event{Time: now(), Kind: kind, UserID: userID, Detail: detail})
	if len(l) > memEventsPerUser {
		l = append([]Event(nil), l[len(l)-memEventsPerUser:]...)
	}
	m.events[userID] = l
}

// Events implements EventsSource.
func (m *MemEvents) Events(_ context.Context, userID string, limit int) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.events[userID]
	out := make([]Event, 0, min(limit, len(l)))
	for i := len(l) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, l[i])
	}
	return out, nil
}
