package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bankguard/bankguard/oauth"
)

// The authorization server's tables (package oauth): consents, codes and
// tokens — these two by their SHA-256 hash only, never the value — and the
// users' history. Times are Unix nanoseconds (NULL for "not yet"), so SQL
// compares them as numbers.
var _ oauth.Store = (*Store)(nil)

// oauthMigration creates the oauth tables; it is one entry of migrations.
const oauthMigration = `CREATE TABLE oauth_consents (
		id                TEXT    PRIMARY KEY,
		app_id            TEXT    NOT NULL,
		user_id           TEXT    NOT NULL,
		scopes            TEXT    NOT NULL,
		accounts          TEXT    NOT NULL,
		validity          TEXT    NOT NULL,
		expires_at        INTEGER NOT NULL,
		created_at        INTEGER NOT NULL,
		session_id        TEXT    NOT NULL,
		risk_acknowledged INTEGER NOT NULL,
		revoked_at        INTEGER,
		consumed_at       INTEGER
	);
	CREATE INDEX oauth_consents_user ON oauth_consents(user_id, created_at);
	CREATE TABLE oauth_codes (
		hash             BLOB    PRIMARY KEY,
		app_id           TEXT    NOT NULL,
		user_id          TEXT    NOT NULL,
		consent_id       TEXT    NOT NULL,
		redirect_uri     TEXT    NOT NULL,
		challenge        TEXT    NOT NULL,
		acr              TEXT    NOT NULL,
		session_id       TEXT    NOT NULL,
		family_id        TEXT    NOT NULL,
		authenticated_at INTEGER,
		created_at       INTEGER NOT NULL,
		expires_at       INTEGER NOT NULL,
		used_at          INTEGER
	);
	CREATE TABLE oauth_tokens (
		hash            BLOB    PRIMARY KEY,
		kind            TEXT    NOT NULL,
		family_id       TEXT    NOT NULL,
		app_id          TEXT    NOT NULL,
		user_id         TEXT    NOT NULL,
		consent_id      TEXT    NOT NULL,
		scopes          TEXT    NOT NULL,
		acr             TEXT    NOT NULL,
		cert_thumbprint TEXT    NOT NULL,
		issued_at       INTEGER NOT NULL,
		expires_at      INTEGER NOT NULL,
		revoked_at      INTEGER,
		used_at         INTEGER
	);
	CREATE INDEX oauth_tokens_family ON oauth_tokens(family_id);
	CREATE INDEX oauth_tokens_consent ON oauth_tokens(consent_id);
	CREATE INDEX oauth_tokens_app ON oauth_tokens(app_id);
	CREATE INDEX oauth_tokens_user ON oauth_tokens(user_id);
	CREATE TABLE oauth_events (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		ts         INTEGER NOT NULL,
		kind       TEXT    NOT NULL,
		user_id    TEXT    NOT NULL,
		app_id     TEXT    NOT NULL,
		consent_id TEXT    NOT NULL,
		detail     TEXT    NOT NULL
	);
	CREATE INDEX oauth_events_user ON oauth_events(user_id, id);
	CREATE INDEX oauth_events_kind ON oauth_events(kind, id);`

// CreateCode implements oauth.CodeStore.
func (s *Store) CreateCode(ctx context.Context, c oauth.CodeRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oauth_codes (hash, app_id, user_id, consent_id, redirect_uri,
		challenge, acr, session_id, family_id, authenticated_at, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.AppID, c.UserID, c.ConsentID, c.RedirectURI, c.Challenge, c.ACR, c.SessionID, c.FamilyID,
		nanos(c.AuthenticatedAt), c.CreatedAt.UnixNano(), c.ExpiresAt.UnixNano(), nanos(c.UsedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create code: %w", err)
	}
	return nil
}

// CodeByHash implements oauth.CodeStore.
func (s *Store) CodeByHash(ctx context.Context, hash []byte) (*oauth.CodeRecord, error) {
	var c oauth.CodeRecord
	var auth, used sql.NullInt64
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT hash, app_id, user_id, consent_id, redirect_uri, challenge, acr,
		session_id, family_id, authenticated_at, created_at, expires_at, used_at FROM oauth_codes WHERE hash = ?`, hash).
		Scan(&c.Hash, &c.AppID, &c.UserID, &c.ConsentID, &c.RedirectURI, &c.Challenge, &c.ACR, &c.SessionID,
			&c.FamilyID, &auth, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oauth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: code: %w", err)
	}
	c.AuthenticatedAt, c.UsedAt = fromNanos(auth), fromNanos(used)
	c.CreatedAt, c.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	return &c, nil
}

// UseCode implements oauth.CodeStore: a compare-and-set on used_at and
// the tokens' insertion in one transaction.
func (s *Store) UseCode(ctx context.Context, hash []byte, now time.Time, issued ...oauth.TokenRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: use code: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE oauth_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL`,
		now.UnixNano(), hash)
	if err != nil {
		return fmt.Errorf("sqlite: use code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: use code: %w", err)
	}
	if n != 1 {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM oauth_codes WHERE hash = ?`, hash).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return oauth.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("sqlite: use code: %w", err)
		}
		return oauth.ErrAlreadyUsed
	}
	if err := insertTokens(ctx, tx, issued); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: use code: %w", err)
	}
	return nil
}

// CreateTokens implements oauth.TokenStore.
func (s *Store) CreateTokens(ctx context.Context, ts ...oauth.TokenRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: create tokens: %w", err)
	}
	defer tx.Rollback()
	if err := insertTokens(ctx, tx, ts); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create tokens: %w", err)
	}
	return nil
}

func insertTokens(ctx context.Context, tx *sql.Tx, ts []oauth.TokenRecord) error {
	for _, t := range ts {
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_tokens (hash, kind, family_id, app_id, user_id,
			consent_id, scopes, acr, cert_thumbprint, issued_at, expires_at, revoked_at, used_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Hash, t.Kind, t.FamilyID, t.AppID, t.UserID, t.ConsentID, jsonList(t.Scopes), t.ACR,
			t.CertThumbprint, t.IssuedAt.UnixNano(), t.ExpiresAt.UnixNano(), nanos(t.RevokedAt), nanos(t.UsedAt))
		if err != nil {
			return fmt.Errorf("sqlite: create token: %w", err)
		}
	}
	return nil
}

// TokenByHash implements oauth.TokenStore.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*oauth.TokenRecord, error) {
	var t oauth.TokenRecord
	var scopes string
	var issued, expires int64
	var revoked, used sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT hash, kind, family_id, app_id, user_id, consent_id, scopes, acr,
		cert_thumbprint, issued_at, expires_at, revoked_at, used_at FROM oauth_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.Kind, &t.FamilyID, &t.AppID, &t.UserID, &t.ConsentID, &scopes, &t.ACR,
			&t.CertThumbprint, &issued, &expires, &revoked, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oauth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: token: %w", err)
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return nil, fmt.Errorf("sqlite: token scopes: %w", err)
	}
	t.IssuedAt, t.ExpiresAt = time.Unix(0, issued).UTC(), time.Unix(0, expires).UTC()
	t.RevokedAt, t.UsedAt = fromNanos(revoked), fromNanos(used)
	return &t, nil
}

// RotateRefresh implements oauth.TokenStore: a compare-and-set on used_at
// and the new tokens' insertion in one transaction.
func (s *Store) RotateRefresh(ctx context.Context, oldHash []byte, now time.Time, next ...oauth.TokenRecord) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: rotate refresh: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE oauth_tokens SET used_at = ?
		WHERE hash = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL`,
		now.UnixNano(), oldHash, oauth.KindRefresh)
	if err != nil {
		return fmt.Errorf("sqlite: rotate refresh: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return fmt.Errorf("sqlite: rotate refresh: %w", err)
		}
		return oauth.ErrAlreadyUsed
	}
	if err := insertTokens(ctx, tx, next); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: rotate refresh: %w", err)
	}
	return nil
}

// RevokeTokens implements oauth.TokenStore.
func (s *Store) RevokeTokens(ctx context.Context, sel oauth.TokenSelector, now time.Time) (int, error) {
	if sel.Fields() != 1 {
		return 0, errors.New("sqlite: a token selector needs exactly one field")
	}
	var col string
	var val any
	switch {
	case len(sel.Hash) > 0:
		col, val = "hash", sel.Hash
	case sel.FamilyID != "":
		col, val = "family_id", sel.FamilyID
	case sel.ConsentID != "":
		col, val = "consent_id", sel.ConsentID
	case sel.AppID != "":
		col, val = "app_id", sel.AppID
	default:
		col, val = "user_id", sel.UserID
	}
	res, err := s.db.ExecContext(ctx, `UPDATE oauth_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND `+col+` = ?`,
		now.UnixNano(), val)
	if err != nil {
		return 0, fmt.Errorf("sqlite: revoke tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

const consentColumns = `id, app_id, user_id, scopes, accounts, validity, expires_at, created_at, session_id,
	risk_acknowledged, revoked_at, consumed_at`

// CreateConsent implements oauth.ConsentStore.
func (s *Store) CreateConsent(ctx context.Context, c oauth.Consent) error {
	if c.ID == "" {
		return errors.New("sqlite: consent without an id")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO oauth_consents (`+consentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.AppID, c.UserID, jsonList(c.Scopes), jsonList(c.Accounts), string(c.Validity),
		c.ExpiresAt.UnixNano(), c.CreatedAt.UnixNano(), c.SessionID, c.RiskAcknowledged,
		nanos(c.RevokedAt), nanos(c.ConsumedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create consent: %w", err)
	}
	return nil
}

func scanConsent(row interface{ Scan(...any) error }) (oauth.Consent, error) {
	var c oauth.Consent
	var scopes, accounts, validity string
	var expires, created int64
	var revoked, consumed sql.NullInt64
	if err := row.Scan(&c.ID, &c.AppID, &c.UserID, &scopes, &accounts, &validity, &expires, &created,
		&c.SessionID, &c.RiskAcknowledged, &revoked, &consumed); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return c, fmt.Errorf("sqlite: consent scopes: %w", err)
	}
	if err := json.Unmarshal([]byte(accounts), &c.Accounts); err != nil {
		return c, fmt.Errorf("sqlite: consent accounts: %w", err)
	}
	c.Validity = oauth.Validity(validity)
	c.ExpiresAt, c.CreatedAt = time.Unix(0, expires).UTC(), time.Unix(0, created).UTC()
	c.RevokedAt, c.ConsumedAt = fromNanos(revoked), fromNanos(consumed)
	return c, nil
}

// ConsentByID implements oauth.ConsentStore.
func (s *Store) ConsentByID(ctx context.Context, id string) (*oauth.Consent, error) {
	c, err := scanConsent(s.db.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM oauth_consents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oauth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: consent: %w", err)
	}
	return &c, nil
}

// ConsentsOf implements oauth.ConsentStore.
func (s *Store) ConsentsOf(ctx context.Context, userID string) ([]oauth.Consent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+consentColumns+` FROM oauth_consents
		WHERE user_id = ? ORDER BY created_at DESC, rowid DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: consents: %w", err)
	}
	defer rows.Close()
	var out []oauth.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: consents: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeConsent implements oauth.ConsentStore.
func (s *Store) RevokeConsent(ctx context.Context, userID, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE oauth_consents SET revoked_at = ?
		WHERE id = ? AND user_id = ? AND revoked_at IS NULL`, now.UnixNano(), id, userID)
	if err != nil {
		return fmt.Errorf("sqlite: revoke consent: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM oauth_consents WHERE id = ? AND user_id = ?`, id, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return oauth.ErrNotFound
	}
	return err // already revoked: no error
}

// ConsumeConsent implements oauth.ConsentStore: a compare-and-set on
// consumed_at.
func (s *Store) ConsumeConsent(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE oauth_consents SET consumed_at = ?
		WHERE id = ? AND validity = ? AND consumed_at IS NULL AND revoked_at IS NULL AND expires_at > ?`,
		now.UnixNano(), id, string(oauth.ValidityOnce), now.UnixNano())
	if err != nil {
		return fmt.Errorf("sqlite: consume consent: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: consume consent: %w", err)
	}
	if n == 1 {
		return nil
	}
	c, err := s.ConsentByID(ctx, id)
	switch {
	case err != nil:
		return err
	case c.Validity != oauth.ValidityOnce:
		return oauth.ErrTokenRevoked
	case !c.ConsumedAt.IsZero():
		return oauth.ErrConsentUsed
	}
	return oauth.ErrTokenRevoked // revoked or expired
}

// AddEvent implements oauth.EventStore.
func (s *Store) AddEvent(ctx context.Context, e oauth.Event) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO oauth_events (ts, kind, user_id, app_id, consent_id, detail)
		VALUES (?, ?, ?, ?, ?, ?)`, e.Time.UnixNano(), e.Kind, e.UserID, e.AppID, e.ConsentID, e.Detail)
	if err != nil {
		return fmt.Errorf("sqlite: add event: %w", err)
	}
	return nil
}

// Events implements oauth.EventStore.
func (s *Store) Events(ctx context.Context, q oauth.EventQuery) ([]oauth.Event, error) {
	var where []string
	var args []any
	if q.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, q.UserID)
	}
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, q.Kind)
	}
	if len(where) == 0 {
		return nil, errors.New("sqlite: an event query needs a user or a kind")
	}
	args = append(args, oauth.EventLimit(q.Limit))
	rows, err := s.db.QueryContext(ctx, `SELECT id, ts, kind, user_id, app_id, consent_id, detail FROM oauth_events
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	var out []oauth.Event
	for rows.Next() {
		var e oauth.Event
		var ts int64
		if err := rows.Scan(&e.ID, &ts, &e.Kind, &e.UserID, &e.AppID, &e.ConsentID, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: events: %w", err)
		}
		e.Time = time.Unix(0, ts).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// nanos is t in Unix nanoseconds, or NULL for the zero time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// jsonList encodes a list as a JSON array, [] for none.
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}
