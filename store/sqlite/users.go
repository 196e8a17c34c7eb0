package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bankguard/bankguard/oauth"
	"github.com/bankguard/bankguard/oauth/pages"
)

// usersMigration creates the table of the bank's users who sign in to the
// authorization pages: argon2id password hashes, and TOTP secrets sealed
// under the master key (SM4-GCM), so that a copy of the database lets no one
// sign in (T/PCAC 0008-2020 3.2.2, 5.3.1).
const usersMigration = `CREATE TABLE users (
	id          TEXT PRIMARY KEY,
	username    TEXT NOT NULL UNIQUE,
	password    TEXT NOT NULL,
	totp_sealed TEXT,
	name        TEXT NOT NULL
);`

func totpAAD(id string) string { return "totp:" + id }

// PutUser inserts or replaces a user, sealing the TOTP secret.
func (s *Store) PutUser(ctx context.Context, u pages.User) error {
	if u.ID == "" || u.Username == "" || u.PasswordHash == "" {
		return errors.New("sqlite: a user needs an id, a username and a password hash")
	}
	var sealed sql.NullString
	if len(u.TOTPSecret) > 0 {
		sealed = sql.NullString{String: s.key.Seal(u.TOTPSecret, totpAAD(u.ID)), Valid: true}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO users (id, username, password, totp_sealed, name) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET username = excluded.username, password = excluded.password,
			totp_sealed = excluded.totp_sealed, name = excluded.name`,
		u.ID, u.Username, u.PasswordHash, sealed, u.Name)
	if err != nil {
		return fmt.Errorf("sqlite: put user: %w", err)
	}
	return nil
}

// UserByName implements pages.Users.
func (s *Store) UserByName(ctx context.Context, username string) (*pages.User, error) {
	return s.user(ctx, `username = ?`, username)
}

// UserByID implements pages.Users.
func (s *Store) UserByID(ctx context.Context, id string) (*pages.User, error) {
	return s.user(ctx, `id = ?`, id)
}

func (s *Store) user(ctx context.Context, where string, arg string) (*pages.User, error) {
	var u pages.User
	var sealed sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT id, username, password, totp_sealed, name FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Username, &u.PasswordHash, &sealed, &u.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oauth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: user: %w", err)
	}
	if sealed.Valid {
		if u.TOTPSecret, err = s.key.Open(sealed.String, totpAAD(u.ID)); err != nil {
			return nil, fmt.Errorf("sqlite: user %s: second factor secret: %w", u.ID, err)
		}
	}
	return &u, nil
}

var _ pages.Users = (*Store)(nil)
