package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bankguard/bankguard/audit"
)

// AuditStore is the embedded audit store: its own SQLite file, so the audit
// log's commits never wait on the registry's and vice versa.
type AuditStore struct {
	db *sql.DB
}

var _ audit.Store = (*AuditStore)(nil)

var auditMigrations = []string{
	`CREATE TABLE audit_records (
		log    TEXT    NOT NULL,
		seq    INTEGER NOT NULL,
		txn_id TEXT    NOT NULL,
		ts     TEXT    NOT NULL,
		app_id TEXT    NOT NULL,
		api_id TEXT    NOT NULL,
		user   TEXT    NOT NULL,
		data   BLOB    NOT NULL,
		leaf   BLOB    NOT NULL,
		PRIMARY KEY (log, seq)
	);
	CREATE INDEX audit_records_txn ON audit_records(txn_id);
	CREATE INDEX audit_records_app ON audit_records(app_id, ts);
	CREATE INDEX audit_records_api ON audit_records(api_id, ts);
	CREATE INDEX audit_records_ts ON audit_records(ts);
	CREATE INDEX audit_records_user ON audit_records(user, ts) WHERE user != '';
	CREATE TABLE audit_nodes (
		log   TEXT    NOT NULL,
		level INTEGER NOT NULL,
		idx   INTEGER NOT NULL,
		hash  BLOB    NOT NULL,
		PRIMARY KEY (log, level, idx)
	);
	CREATE TABLE audit_checkpoints (
		log  TEXT    NOT NULL,
		size INTEGER NOT NULL,
		data BLOB    NOT NULL,
		PRIMARY KEY (log, size)
	);
	CREATE TABLE audit_prefix (
		log    TEXT    PRIMARY KEY,
		end    INTEGER NOT NULL,
		hashes BLOB    NOT NULL
	);`,
}

// tsFormat sorts as text in time order.
const tsFormat = "2006-01-02T15:04:05.000Z"

// OpenAudit opens (creating if needed) the audit database at path.
func OpenAudit(ctx context.Context, path string) (*AuditStore, error) {
	db, err := openDB(ctx, path, auditMigrations)
	if err != nil {
		return nil, err
	}
	return &AuditStore{db: db}, nil
}

// Close closes the database.
func (s *AuditStore) Close() error { return s.db.Close() }

// rowsPerInsert is how many records one INSERT statement carries.
const rowsPerInsert = 64

// Append writes entries and nodes in one transaction.
func (s *AuditStore) Append(ctx context.Context, entries []audit.Entry, nodes []audit.Node) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for start := 0; start < len(entries); start += rowsPerInsert {
		chunk := entries[start:min(start+rowsPerInsert, len(entries))]
		q := "INSERT INTO audit_records (log, seq, txn_id, ts, app_id, api_id, user, data, leaf) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?),", len(chunk)), ",")
		args := make([]any, 0, 9*len(chunk))
		for _, e := range chunk {
			args = append(args, e.Log, int64(e.Seq), e.TxnID, e.Time.UTC().Format(tsFormat), e.AppID, e.APIID, e.User, e.Data, e.Leaf)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("sqlite: audit append: %w", err)
		}
	}
	for _, n := range nodes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_nodes (log, level, idx, hash) VALUES (?, ?, ?, ?)`,
			n.Log, int64(n.Level), int64(n.Index), n.Hash); err != nil {
			return fmt.Errorf("sqlite: audit node: %w", err)
		}
	}
	return tx.Commit()
}

// Size is the next sequence number of log.
func (s *AuditStore) Size(ctx context.Context, log string) (uint64, error) {
	var max sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(seq) FROM audit_records WHERE log = ?`, log).Scan(&max); err != nil {
		return 0, fmt.Errorf("sqlite: audit size: %w", err)
	}
	if max.Valid {
		return uint64(max.Int64) + 1, nil
	}
	end, _, err := s.Prefix(ctx, log)
	return end, err
}

// Leaves returns the leaf hashes of [from, to).
func (s *AuditStore) Leaves(ctx context.Context, log string, from, to uint64) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, leaf FROM audit_records WHERE log = ? AND seq >= ? AND seq < ? ORDER BY seq`,
		log, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit leaves: %w", err)
	}
	defer rows.Close()
	out := make([][]byte, 0, to-from)
	next := from
	for rows.Next() {
		var seq int64
		var leaf []byte
		if err := rows.Scan(&seq, &leaf); err != nil {
			return nil, err
		}
		if uint64(seq) != next {
			return nil, fmt.Errorf("sqlite: audit log %s: record %d is missing", log, next)
		}
		out = append(out, leaf)
		next++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if next != to {
		return nil, fmt.Errorf("sqlite: audit log %s: record %d is missing", log, next)
	}
	return out, nil
}

// Node returns a stored inner node.
func (s *AuditStore) Node(ctx context.Context, log string, level uint, index uint64) ([]byte, error) {
	var h []byte
	err := s.db.QueryRowContext(ctx, `SELECT hash FROM audit_nodes WHERE log = ? AND level = ? AND idx = ?`,
		log, int64(level), int64(index)).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, audit.ErrNotFound
	}
	return h, err
}

// Scan streams log's rows from seq from.
func (s *AuditStore) Scan(ctx context.Context, log string, from uint64, fn func(audit.Row) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, data, leaf, txn_id, ts, app_id, api_id, user
		FROM audit_records WHERE log = ? AND seq >= ? ORDER BY seq`, log, int64(from))
	if err != nil {
		return fmt.Errorf("sqlite: audit scan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r audit.Row
		var seq int64
		var ts string
		if err := rows.Scan(&seq, &r.Data, &r.Leaf, &r.TxnID, &ts, &r.AppID, &r.APIID, &r.User); err != nil {
			return err
		}
		r.Seq = uint64(seq)
		r.Time, _ = time.Parse(tsFormat, ts)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Query returns records matching f.
func (s *AuditStore) Query(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Log != "" {
		add("log = ?", f.Log)
	}
	if f.TxnID != "" {
		add("txn_id = ?", f.TxnID)
	}
	if f.AppID != "" {
		add("app_id = ?", f.AppID)
	}
	if f.APIID != "" {
		add("api_id = ?", f.APIID)
	}
	if f.User != "" {
		add("user = ?", f.User)
	}
	if !f.Since.IsZero() {
		add("ts >= ?", f.Since.UTC().Format(tsFormat))
	}
	if !f.Until.IsZero() {
		add("ts < ?", f.Until.UTC().Format(tsFormat))
	}
	if f.AfterLog != "" {
		where = append(where, "(log > ? OR (log = ? AND seq > ?))")
		args = append(args, f.AfterLog, f.AfterLog, int64(f.AfterSeq))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT data, leaf FROM audit_records`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY log, seq LIMIT %d", limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit query: %w", err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		if err := rows.Scan(&e.Data, &e.Leaf); err != nil {
			return nil, err
		}
		rec, err := audit.ParseCanonical(e.Data)
		if err != nil {
			return nil, err
		}
		e.Record = *rec
		out = append(out, e)
	}
	return out, rows.Err()
}

// PutCheckpoint stores a checkpoint.
func (s *AuditStore) PutCheckpoint(ctx context.Context, c *audit.Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR IGNORE INTO audit_checkpoints (log, size, data) VALUES (?, ?, ?)`, c.Log, int64(c.Size), b)
	return err
}

// Checkpoints returns log's checkpoints by size.
func (s *AuditStore) Checkpoints(ctx context.Context, log string) ([]audit.Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM audit_checkpoints WHERE log = ? ORDER BY size`, log)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		var c audit.Checkpoint
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("sqlite: audit checkpoint: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Prefix returns the compact range of log's archived prefix.
func (s *AuditStore) Prefix(ctx context.Context, log string) (uint64, [][]byte, error) {
	var end int64
	var blob []byte
	err := s.db.QueryRowContext(ctx, `SELECT end, hashes FROM audit_prefix WHERE log = ?`, log).Scan(&end, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if len(blob)%32 != 0 {
		return 0, nil, errors.New("sqlite: audit prefix is corrupt")
	}
	var hashes [][]byte
	for i := 0; i < len(blob); i += 32 {
		hashes = append(hashes, blob[i:i+32])
	}
	return uint64(end), hashes, nil
}

// Archived deletes records [from, to) and records the new prefix.
func (s *AuditStore) Archived(ctx context.Context, log string, from, to uint64, prefix [][]byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_records WHERE log = ? AND seq >= ? AND seq < ?`, log, int64(from), int64(to)); err != nil {
		return err
	}
	var blob []byte
	for _, h := range prefix {
		blob = append(blob, h...)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_prefix (log, end, hashes) VALUES (?, ?, ?)
		ON CONFLICT (log) DO UPDATE SET end = excluded.end, hashes = excluded.hashes`, log, int64(to), blob); err != nil {
		return err
	}
	return tx.Commit()
}
