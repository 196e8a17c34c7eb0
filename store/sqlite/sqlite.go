// Package sqlite is the embedded store: the registry (apps, credentials, APIs)
// in a single SQLite file, pure Go (modernc.org/sqlite). HMAC secrets are
// sealed with the master key before they reach the file.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/secret"
)

// Store is the SQLite registry store.
type Store struct {
	db  *sql.DB
	key *secret.MasterKey
}

var _ registry.Store = (*Store)(nil)

// migrations are applied in order; PRAGMA user_version records how many ran.
var migrations = []string{
	`CREATE TABLE apps (
		id              TEXT PRIMARY KEY,
		name            TEXT NOT NULL,
		status          TEXT NOT NULL,
		client_cert_pem BLOB,
		created_at      TEXT NOT NULL,
		updated_at      TEXT NOT NULL
	);
	CREATE TABLE credentials (
		key_id         TEXT PRIMARY KEY,
		app_id         TEXT NOT NULL REFERENCES apps(id),
		alg            TEXT NOT NULL,
		public_key_pem BLOB,
		secret_sealed  TEXT,
		status         TEXT NOT NULL,
		not_before     TEXT NOT NULL,
		not_after      TEXT NOT NULL,
		created_at     TEXT NOT NULL
	);
	CREATE INDEX credentials_app ON credentials(app_id);
	CREATE TABLE apis (
		id            TEXT PRIMARY KEY,
		name          TEXT NOT NULL,
		method        TEXT NOT NULL,
		path          TEXT NOT NULL,
		level         INTEGER NOT NULL,
		status        TEXT NOT NULL,
		version       TEXT NOT NULL,
		upstream      TEXT NOT NULL,
		spec          BLOB NOT NULL,
		deprecated_at TEXT NOT NULL,
		sunset        TEXT NOT NULL,
		successor     TEXT NOT NULL,
		terminated_at TEXT NOT NULL,
		notice        TEXT NOT NULL,
		updated_at    TEXT NOT NULL,
		UNIQUE (method, path)
	);`,
	`ALTER TABLE apis ADD COLUMN protection TEXT NOT NULL DEFAULT '{}';`,
	`ALTER TABLE apps ADD COLUMN encryption_key_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE apps ADD COLUMN encryption_key_pem BLOB;`,
	oauthMigration, // oauth.go: consents, codes, tokens, events (issue 5)
	`ALTER TABLE apps ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '[]';
	ALTER TABLE apps ADD COLUMN agreement_end TEXT NOT NULL DEFAULT '';`,
	usersMigration, // users.go: the bank's users who log in to authorize apps
	`ALTER TABLE apps ADD COLUMN notify_url TEXT NOT NULL DEFAULT '';`,
}

// Open opens (creating if needed) the registry database at path and brings
// its schema up to date.
func Open(ctx context.Context, path string, key *secret.MasterKey) (*Store, error) {
	if key == nil {
		return nil, errors.New("sqlite: a master key is required")
	}
	db, err := openDB(ctx, path, migrations, 0)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, key: key}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// openDB opens a database in WAL mode with full fsync on commit, and applies
// the migrations it has not had yet (PRAGMA user_version counts them). A
// pageSize other than 0 applies to a database created now.
func openDB(ctx context.Context, path string, migrations []string, pageSize int) (*sql.DB, error) {
	q := url.Values{}
	if pageSize > 0 {
		q.Add("_pragma", fmt.Sprintf("page_size(%d)", pageSize))
	}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, db, migrations); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB, migrations []string) error {
	var version int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlite: database schema version %d is newer than this bankguard (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// PutApp inserts or replaces an app.
func (s *Store) PutApp(ctx context.Context, a registry.App) error {
	if !a.Status.Valid() {
		return fmt.Errorf("sqlite: app %s: invalid status %q", a.ID, a.Status)
	}
	now := time.Now().UTC()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	uris, err := json.Marshal(append([]string{}, a.RedirectURIs...))
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO apps (id, name, status, client_cert_pem, created_at, updated_at,
			encryption_key_id, encryption_key_pem, redirect_uris, agreement_end, notify_url)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status,
			client_cert_pem = excluded.client_cert_pem, updated_at = excluded.updated_at,
			encryption_key_id = excluded.encryption_key_id, encryption_key_pem = excluded.encryption_key_pem,
			redirect_uris = excluded.redirect_uris, agreement_end = excluded.agreement_end,
			notify_url = excluded.notify_url`,
		a.ID, a.Name, string(a.Status), a.ClientCertPEM, formatTime(a.CreatedAt), formatTime(now),
		a.EncryptionKeyID, a.EncryptionKeyPEM, string(uris), formatTime(a.AgreementEnd), a.NotifyURL)
	if err != nil {
		return fmt.Errorf("sqlite: put app %s: %w", a.ID, err)
	}
	return nil
}

// SetAppStatus changes an app's status.
func (s *Store) SetAppStatus(ctx context.Context, id string, st registry.AppStatus) error {
	if !st.Valid() {
		return fmt.Errorf("sqlite: invalid app status %q", st)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE apps SET status = ?, updated_at = ? WHERE id = ?`,
		string(st), formatTime(time.Now()), id)
	if err != nil {
		return fmt.Errorf("sqlite: set app status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return registry.ErrNotFound
	}
	return nil
}

const appColumns = `id, name, status, client_cert_pem, created_at, updated_at, encryption_key_id, encryption_key_pem,
	redirect_uris, agreement_end, notify_url`

func scanApp(row interface{ Scan(...any) error }) (registry.App, error) {
	var a registry.App
	var status, created, updated, uris, agreementEnd string
	if err := row.Scan(&a.ID, &a.Name, &status, &a.ClientCertPEM, &created, &updated, &a.EncryptionKeyID, &a.EncryptionKeyPEM,
		&uris, &agreementEnd, &a.NotifyURL); err != nil {
		return a, err
	}
	a.Status = registry.AppStatus(status)
	a.CreatedAt, a.UpdatedAt = parseTime(created), parseTime(updated)
	if err := json.Unmarshal([]byte(uris), &a.RedirectURIs); err != nil {
		return a, fmt.Errorf("app %s: redirect_uris: %w", a.ID, err)
	}
	a.AgreementEnd = parseTime(agreementEnd)
	return a, nil
}

// App returns one app.
func (s *Store) App(ctx context.Context, id string) (registry.App, error) {
	a, err := scanApp(s.db.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, registry.ErrNotFound
	}
	return a, err
}

// Apps returns every app.
func (s *Store) Apps(ctx context.Context) ([]registry.App, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+appColumns+` FROM apps ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: apps: %w", err)
	}
	defer rows.Close()
	var out []registry.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: apps: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func credentialAAD(keyID string) string { return "credential:" + keyID }

// PutCredential inserts or replaces a credential, sealing its secret.
func (s *Store) PutCredential(ctx context.Context, c registry.Credential) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	if c.Status == "" {
		c.Status = registry.CredentialActive
	}
	var sealed sql.NullString
	if len(c.Secret) > 0 {
		sealed = sql.NullString{String: s.key.Seal(c.Secret, credentialAAD(c.KeyID)), Valid: true}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO credentials
		(key_id, app_id, alg, public_key_pem, secret_sealed, status, not_before, not_after, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key_id) DO UPDATE SET app_id = excluded.app_id, alg = excluded.alg,
			public_key_pem = excluded.public_key_pem, secret_sealed = excluded.secret_sealed,
			status = excluded.status, not_before = excluded.not_before, not_after = excluded.not_after`,
		c.KeyID, c.AppID, c.Alg, c.PublicKeyPEM, sealed, string(c.Status),
		formatTime(c.NotBefore), formatTime(c.NotAfter), formatTime(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: put credential %s: %w", c.KeyID, err)
	}
	return nil
}

// Credentials returns every credential with its secret opened.
func (s *Store) Credentials(ctx context.Context) ([]registry.Credential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key_id, app_id, alg, public_key_pem, secret_sealed,
		status, not_before, not_after, created_at FROM credentials ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: credentials: %w", err)
	}
	defer rows.Close()
	var out []registry.Credential
	for rows.Next() {
		var c registry.Credential
		var sealed sql.NullString
		var status, nb, na, created string
		if err := rows.Scan(&c.KeyID, &c.AppID, &c.Alg, &c.PublicKeyPEM, &sealed, &status, &nb, &na, &created); err != nil {
			return nil, fmt.Errorf("sqlite: credentials: %w", err)
		}
		if sealed.Valid {
			if c.Secret, err = s.key.Open(sealed.String, credentialAAD(c.KeyID)); err != nil {
				return nil, fmt.Errorf("sqlite: credential %s: %w", c.KeyID, err)
			}
		}
		c.Status = registry.CredentialStatus(status)
		c.NotBefore, c.NotAfter, c.CreatedAt = parseTime(nb), parseTime(na), parseTime(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutAPI inserts or replaces an API by its U_API_ID.
func (s *Store) PutAPI(ctx context.Context, a registry.API) error {
	if !a.Status.Valid() {
		return fmt.Errorf("sqlite: api %s: invalid status %q", a.ID, a.Status)
	}
	protection, err := json.Marshal(a.Protection)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO apis (id, name, method, path, level, status, version,
		upstream, spec, deprecated_at, sunset, successor, terminated_at, notice, updated_at, protection)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, method = excluded.method,
			path = excluded.path, level = excluded.level, status = excluded.status,
			version = excluded.version, upstream = excluded.upstream, spec = excluded.spec,
			deprecated_at = excluded.deprecated_at, sunset = excluded.sunset,
			successor = excluded.successor, terminated_at = excluded.terminated_at,
			notice = excluded.notice, updated_at = excluded.updated_at, protection = excluded.protection`,
		a.ID, a.Name, a.Method, a.Path, int(a.Level), string(a.Status), a.Version, a.Upstream, a.Spec,
		formatTime(a.DeprecatedAt), formatTime(a.Sunset), a.Successor, formatTime(a.TerminatedAt),
		a.Notice, formatTime(time.Now()), protection)
	if err != nil {
		return fmt.Errorf("sqlite: put api %s: %w", a.ID, err)
	}
	return nil
}

// APIs returns every API.
func (s *Store) APIs(ctx context.Context) ([]registry.API, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, method, path, level, status, version, upstream,
		spec, deprecated_at, sunset, successor, terminated_at, notice, updated_at, protection FROM apis ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: apis: %w", err)
	}
	defer rows.Close()
	var out []registry.API
	for rows.Next() {
		var a registry.API
		var level int
		var status, dep, sunset, term, updated, protection string
		if err := rows.Scan(&a.ID, &a.Name, &a.Method, &a.Path, &level, &status, &a.Version, &a.Upstream,
			&a.Spec, &dep, &sunset, &a.Successor, &term, &a.Notice, &updated, &protection); err != nil {
			return nil, fmt.Errorf("sqlite: apis: %w", err)
		}
		if err := json.Unmarshal([]byte(protection), &a.Protection); err != nil {
			return nil, fmt.Errorf("sqlite: api %s protection: %w", a.ID, err)
		}
		a.Level, a.Status = registry.Level(level), registry.APIStatus(status)
		a.DeprecatedAt, a.Sunset, a.TerminatedAt, a.UpdatedAt = parseTime(dep), parseTime(sunset), parseTime(term), parseTime(updated)
		out = append(out, a)
	}
	return out, rows.Err()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
