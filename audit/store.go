package audit

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by stores for a missing record, node or checkpoint.
var ErrNotFound = errors.New("audit: not found")

// NodeLevel is the lowest level of the inner tree nodes a store keeps: one
// stored node per 256 records; lower nodes are recomputed from leaves.
const NodeLevel = 8

// Node is an inner node of a log's tree.
type Node struct {
	Log   string
	Level uint
	Index uint64
	Hash  []byte
}

// Row is a record as a store keeps it: its position, canonical data and leaf
// hash, and the time range the store's index files it under (which
// verification checks against the record, so a time query cannot be misled
// by an edited index).
type Row struct {
	Seq  uint64
	Data []byte
	Leaf []byte
	// IndexedFrom and IndexedTo bound the record's timestamp as the store's
	// index claims.
	IndexedFrom, IndexedTo time.Time
}

// Filter selects records; zero fields match everything.
type Filter struct {
	Log   string
	TxnID string
	AppID string
	APIID string
	User  string
	Since time.Time // inclusive
	Until time.Time // exclusive
	// After continues a listing: records with (log, seq) after it, as returned by the previous page.
	AfterLog string
	AfterSeq uint64
	Limit    int // 0 means 100
}

// Matches reports whether r passes the filter's record fields (not its
// paging).
func (f *Filter) Matches(r *Record) bool {
	return (f.Log == "" || r.Log == f.Log) && (f.TxnID == "" || r.TxnID == f.TxnID) &&
		(f.AppID == "" || r.AppID == f.AppID) && (f.APIID == "" || r.APIID == f.APIID) &&
		(f.User == "" || r.User == f.User) && (f.Since.IsZero() || !r.Time.Before(f.Since)) &&
		(f.Until.IsZero() || r.Time.Before(f.Until))
}

// Store keeps the audit logs durably. Implementations: store/sqlite (the
// embedded default) and, for clusters, PostgreSQL.
type Store interface {
	// Append writes entries and the tree nodes they completed in one
	// atomic, durable transaction.
	Append(ctx context.Context, entries []Entry, nodes []Node) error
	// Size is the number of records log has had: the next sequence number.
	Size(ctx context.Context, log string) (uint64, error)
	// Leaves returns the stored leaf hashes of records [from, to) of log.
	Leaves(ctx context.Context, log string, from, to uint64) ([][]byte, error)
	// Node returns a stored inner node, or ErrNotFound.
	Node(ctx context.Context, log string, level uint, index uint64) ([]byte, error)
	// Scan calls fn for each stored row of log with seq ≥ from, in
	// sequence order, exactly as stored.
	Scan(ctx context.Context, log string, from uint64, fn func(Row) error) error
	// Query returns records matching f, ordered by log and seq.
	Query(ctx context.Context, f Filter) ([]Entry, error)
	// PutCheckpoint stores a checkpoint.
	PutCheckpoint(ctx context.Context, c *Checkpoint) error
	// Checkpoints returns log's checkpoints by size.
	Checkpoints(ctx context.Context, log string) ([]Checkpoint, error)
	// Prefix returns the compact range of log's archived prefix [0, end).
	Prefix(ctx context.Context, log string) (end uint64, hashes [][]byte, err error)
	// Archived removes records [from, to) of log from the live store after
	// they were archived, recording the compact range of [0, to).
	Archived(ctx context.Context, log string, from, to uint64, prefix [][]byte) error
	Close() error
}
