package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bankguard/bankguard/audit"
)

// AuditStore is the embedded audit store: its own SQLite file, so the audit
// log's commits never wait on the registry's and vice versa.
//
// Records are stored a commit at a time: one row holds the consecutive
// records of one log that one group commit wrote, so a commit costs one
// insert and a few pages of WAL however many records it carries. Rows are
// found by position (log, first seq) and by time (the row's first and last
// record times); a transaction serial number carries its time, so a
// lookup by txn_id reads the few rows of that moment.
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
	// One row per group commit and log (see AuditStore); the rows of the
	// first schema become one-record batches.
	`CREATE TABLE audit_batches (
		log     TEXT    NOT NULL,
		first   INTEGER NOT NULL,
		last    INTEGER NOT NULL,
		ts_min  TEXT    NOT NULL,
		ts_max  TEXT    NOT NULL,
		records BLOB    NOT NULL,
		PRIMARY KEY (log, first)
	);
	CREATE INDEX audit_batches_time ON audit_batches(ts_max);
	INSERT INTO audit_batches (log, first, last, ts_min, ts_max, records)
		SELECT log, seq, seq, ts, ts, unhex(printf('%08x', length(data))) || data || leaf FROM audit_records;
	DROP TABLE audit_records;`,
}

// tsFormat sorts as text in time order.
const tsFormat = "2006-01-02T15:04:05.000Z"

// leafSize is the size of a leaf hash (SM3 and SHA-256 alike).
const leafSize = 32

// OpenAudit opens (creating if needed) the audit database at path.
func OpenAudit(ctx context.Context, path string) (*AuditStore, error) {
	// Large pages: a commit's row is written in one or two WAL frames, each a
	// write system call, rather than several.
	db, err := openDB(ctx, path, auditMigrations, 16384)
	if err != nil {
		return nil, err
	}
	return &AuditStore{db: db}, nil
}

// Close closes the database.
func (s *AuditStore) Close() error { return s.db.Close() }

// encodeBatch lays records out as 4-byte big-endian data length, data,
// 32-byte leaf, one after the other.
func encodeBatch(entries []audit.Entry) []byte {
	n := 0
	for _, e := range entries {
		n += 4 + len(e.Data) + leafSize
	}
	b := make([]byte, 0, n)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
		b = append(b, e.Leaf...)
	}
	return b
}

// batch is one stored row.
type batch struct {
	first, last  uint64
	tsMin, tsMax time.Time
	records      []byte
}

// each calls fn for the batch's records in order. A record that cannot be
// decoded is passed as the rest of the batch with no leaf: verification
// reports it, a query skips it.
func (b *batch) each(fn func(seq uint64, data, leaf []byte) error) error {
	rest := b.records
	for seq := b.first; len(rest) > 0; seq++ {
		if len(rest) < 4 || uint64(len(rest)-4) < uint64(binary.BigEndian.Uint32(rest))+leafSize {
			return fn(seq, rest, nil)
		}
		n := int(binary.BigEndian.Uint32(rest))
		if err := fn(seq, rest[4:4+n], rest[4+n:4+n+leafSize]); err != nil {
			return err
		}
		rest = rest[4+n+leafSize:]
	}
	return nil
}

// Append writes entries, one row per log, and nodes in one transaction.
func (s *AuditStore) Append(ctx context.Context, entries []audit.Entry, nodes []audit.Node) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for start := 0; start < len(entries); {
		end := start + 1
		for end < len(entries) && entries[end].Log == entries[start].Log && entries[end].Seq == entries[end-1].Seq+1 {
			end++
		}
		run := entries[start:end]
		tsMin, tsMax := run[0].Time, run[0].Time
		for _, e := range run {
			if e.Time.Before(tsMin) {
				tsMin = e.Time
			}
			if e.Time.After(tsMax) {
				tsMax = e.Time
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_batches (log, first, last, ts_min, ts_max, records) VALUES (?, ?, ?, ?, ?, ?)`,
			run[0].Log, int64(run[0].Seq), int64(run[len(run)-1].Seq), tsMin.UTC().Format(tsFormat), tsMax.UTC().Format(tsFormat),
			encodeBatch(run)); err != nil {
			return fmt.Errorf("sqlite: audit append: %w", err)
		}
		start = end
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
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(last) FROM audit_batches WHERE log = ?`, log).Scan(&last); err != nil {
		return 0, fmt.Errorf("sqlite: audit size: %w", err)
	}
	if last.Valid {
		return uint64(last.Int64) + 1, nil
	}
	end, _, err := s.Prefix(ctx, log)
	return end, err
}

// batches calls fn for the rows selected by where (after "WHERE log = ? AND"), in log and position order.
func (s *AuditStore) batches(ctx context.Context, where string, args []any, fn func(log string, b *batch) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT log, first, last, ts_min, ts_max, records FROM audit_batches WHERE `+where+
		` ORDER BY log, first`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: audit read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var log, tsMin, tsMax string
		var first, last int64
		b := &batch{}
		if err := rows.Scan(&log, &first, &last, &tsMin, &tsMax, &b.records); err != nil {
			return err
		}
		b.first, b.last = uint64(first), uint64(last)
		b.tsMin, _ = time.Parse(tsFormat, tsMin)
		b.tsMax, _ = time.Parse(tsFormat, tsMax)
		if err := fn(log, b); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Leaves returns the leaf hashes of [from, to).
func (s *AuditStore) Leaves(ctx context.Context, log string, from, to uint64) ([][]byte, error) {
	out := make([][]byte, 0, to-from)
	next := from
	err := s.batches(ctx, "log = ? AND last >= ? AND first < ?", []any{log, int64(from), int64(to)}, func(_ string, b *batch) error {
		return b.each(func(seq uint64, _, leaf []byte) error {
			if seq < next || seq >= to {
				return nil
			}
			if seq != next || leaf == nil {
				return fmt.Errorf("sqlite: audit log %s: record %d is missing", log, next)
			}
			out = append(out, leaf)
			next++
			return nil
		})
	})
	if err != nil {
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

// Scan streams log's records from seq from.
func (s *AuditStore) Scan(ctx context.Context, log string, from uint64, fn func(audit.Row) error) error {
	return s.batches(ctx, "log = ? AND last >= ?", []any{log, int64(from)}, func(_ string, b *batch) error {
		return b.each(func(seq uint64, data, leaf []byte) error {
			if seq < from {
				return nil
			}
			return fn(audit.Row{Seq: seq, Data: data, Leaf: leaf, IndexedFrom: b.tsMin, IndexedTo: b.tsMax})
		})
	})
}

// txnWindow is how far from the time in its transaction serial number a
// record's timestamp may be.
const txnWindow = time.Minute

// Query returns records matching f: the rows of f's time range (or of the
// moment its txn_id names), filtered record by record.
func (s *AuditStore) Query(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	where := []string{"1 = 1"}
	var args []any
	add := func(cond string, v ...any) {
		where = append(where, cond)
		args = append(args, v...)
	}
	if f.Log != "" {
		add("log = ?", f.Log)
	}
	since, until := f.Since, f.Until
	if t, ok := txnTime(f.TxnID); ok {
		if since.IsZero() || since.Before(t.Add(-txnWindow)) {
			since = t.Add(-txnWindow)
		}
		if until.IsZero() || until.After(t.Add(txnWindow)) {
			until = t.Add(txnWindow)
		}
	}
	if !since.IsZero() {
		add("ts_max >= ?", since.UTC().Format(tsFormat))
	}
	if !until.IsZero() {
		add("ts_min < ?", until.UTC().Format(tsFormat))
	}
	if f.AfterLog != "" {
		add("(log > ? OR (log = ? AND last > ?))", f.AfterLog, f.AfterLog, int64(f.AfterSeq))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []audit.Entry
	errFull := errors.New("full")
	err := s.batches(ctx, strings.Join(where, " AND "), args, func(log string, b *batch) error {
		return b.each(func(seq uint64, data, leaf []byte) error {
			if log == f.AfterLog && seq <= f.AfterSeq || leaf == nil {
				return nil
			}
			rec, err := audit.ParseCanonical(data)
			if err != nil || !f.Matches(rec) {
				return nil
			}
			out = append(out, audit.Entry{Record: *rec, Data: data, Leaf: leaf})
			if len(out) == limit {
				return errFull
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, err
	}
	return out, nil
}

// txnTime is the time a bankguard transaction serial number carries: its
// first 17 digits, yyyyMMddHHmmssSSS in UTC.
func txnTime(id string) (time.Time, bool) {
	if len(id) < 17 {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102150405.000", id[:14]+"."+id[14:17])
	return t, err == nil
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
	if len(blob)%leafSize != 0 {
		return 0, nil, errors.New("sqlite: audit prefix is corrupt")
	}
	var hashes [][]byte
	for i := 0; i < len(blob); i += leafSize {
		hashes = append(hashes, blob[i:i+leafSize])
	}
	return uint64(end), hashes, nil
}

// Archived deletes records [from, to), cutting a row that straddles to, and
// records the new prefix.
func (s *AuditStore) Archived(ctx context.Context, log string, from, to uint64, prefix [][]byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var straddling *batch
	err = func() error {
		row := tx.QueryRowContext(ctx, `SELECT first, last, ts_min, ts_max, records FROM audit_batches
			WHERE log = ? AND first < ? AND last >= ?`, log, int64(to), int64(to))
		var first, last int64
		var tsMin, tsMax string
		b := &batch{}
		switch err := row.Scan(&first, &last, &tsMin, &tsMax, &b.records); {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		b.first, b.last = uint64(first), uint64(last)
		b.tsMin, _ = time.Parse(tsFormat, tsMin)
		b.tsMax, _ = time.Parse(tsFormat, tsMax)
		straddling = b
		return nil
	}()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_batches WHERE log = ? AND first < ?`, log, int64(to)); err != nil {
		return err
	}
	if straddling != nil { // keep its records from to on
		var keep []audit.Entry
		straddling.each(func(seq uint64, data, leaf []byte) error {
			if seq >= to && leaf != nil {
				keep = append(keep, audit.Entry{Record: audit.Record{Log: log, Seq: seq}, Data: data, Leaf: leaf})
			}
			return nil
		})
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_batches (log, first, last, ts_min, ts_max, records) VALUES (?, ?, ?, ?, ?, ?)`,
			log, int64(to), int64(straddling.last), straddling.tsMin.Format(tsFormat), straddling.tsMax.Format(tsFormat), encodeBatch(keep)); err != nil {
			return err
		}
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
