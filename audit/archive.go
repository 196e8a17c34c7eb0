package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/bankguard/bankguard/httpsig"
)

// SegmentAlign is the granularity of archived ranges: whole stored tree nodes.
const SegmentAlign = 1 << NodeLevel

// segmentType marks the header line of a segment file.
const segmentType = "bankguard-audit-segment/v1"

// SegmentHeader is the first line of a segment file.
type SegmentHeader struct {
	Type string `json:"type"`
	Log  string `json:"log"`
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// Prefix is the compact range of records [0, From), which are in earlier segments.
	Prefix [][]byte `json:"prefix"`
	// Checkpoint is signed at archival and fixes the root of records [0, To).
	Checkpoint Checkpoint `json:"checkpoint"`
}

// Archiver moves records past their retention period out of the live store
// into segment files that verify on their own.
type Archiver struct {
	Store  Store
	Hasher *Hasher
	KeyID  string
	Signer httpsig.Signer
	Keys   KeySet // to check the live checkpoint the archive must agree with
	// Dir receives the segment files; WitnessDir a copy of each new checkpoint.
	Dir        string
	WitnessDir string
	// Retention per log.
	Retention map[string]time.Duration
	Now       func() time.Time
}

// ArchiveResult says what one run archived.
type ArchiveResult struct {
	Log      string `json:"log"`
	From, To uint64
	File     string `json:"file"`
}

// Run archives, per log, the longest aligned range of records older than the
// log's retention, and returns what it wrote.
func (a *Archiver) Run(ctx context.Context) ([]ArchiveResult, error) {
	var out []ArchiveResult
	for _, log := range Logs {
		r, err := a.archiveLog(ctx, log)
		if err != nil {
			return out, fmt.Errorf("audit: archive log %s: %w", log, err)
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

func (a *Archiver) archiveLog(ctx context.Context, log string) (*ArchiveResult, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	keep, ok := a.Retention[log]
	if !ok || keep <= 0 {
		return nil, nil
	}
	cutoff := now().Add(-keep)
	from, prefix, err := a.Store.Prefix(ctx, log)
	if err != nil {
		return nil, err
	}
	// Find the first record still within retention.
	to := from
	errDone := errors.New("done")
	err = a.Store.Scan(ctx, log, from, func(row Row) error {
		if !row.IndexedTo.Before(cutoff) || row.Seq != to {
			return errDone
		}
		to++
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		return nil, err
	}
	to -= to % SegmentAlign
	if to <= from {
		return nil, nil
	}
	latest, err := a.latestCheckpoint(ctx, log, to)
	if err != nil {
		return nil, err
	}
	// The segment is written from the records themselves, their leaves
	// recomputed from their data, so that what is signed is what is archived.
	seg, rng, err := a.writeSegment(ctx, log, from, to, prefix)
	if err != nil {
		return nil, err
	}
	defer os.Remove(seg.Name()) // a no-op once renamed into place
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return nil, err
	}
	// Records [0, to) must extend into the last signed checkpoint: an
	// archive is never signed over records that were tampered with.
	t := newTree(a.Store, a.Hasher, log)
	cons, err := t.consistency(ctx, to, latest.Size)
	if err != nil {
		return nil, err
	}
	if err := proof.VerifyConsistency(a.Hasher, to, latest.Size, cons, root, latest.Root); err != nil {
		return nil, fmt.Errorf("records 0..%d do not agree with the checkpoint at %d: run bankguard audit verify: %w", to-1, latest.Size, err)
	}
	cp := Checkpoint{Log: log, Size: to, Root: root, Hash: a.Hasher.Name(), Time: now().UTC()}
	if err := cp.Sign(a.KeyID, a.Signer); err != nil {
		return nil, err
	}
	file, err := seg.finish(a.Dir, SegmentHeader{Type: segmentType, Log: log, From: from, To: to, Prefix: prefix, Checkpoint: cp})
	if err != nil {
		return nil, err
	}
	if err := a.Store.PutCheckpoint(ctx, &cp); err != nil {
		return nil, err
	}
	if a.WitnessDir != "" {
		if err := WriteWitness(a.WitnessDir, &cp); err != nil {
			return nil, err
		}
	}
	if err := a.Store.Archived(ctx, log, from, to, rng.Hashes()); err != nil {
		return nil, err
	}
	return &ArchiveResult{Log: log, From: from, To: to, File: file}, nil
}

// latestCheckpoint is the log's latest valid checkpoint, which must cover to.
func (a *Archiver) latestCheckpoint(ctx context.Context, log string, to uint64) (*Checkpoint, error) {
	cps, err := a.Store.Checkpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if cps[i].Size < to {
			break
		}
		if cps[i].Verify(a.Keys) == nil {
			return &cps[i], nil
		}
	}
	return nil, fmt.Errorf("no valid checkpoint covers records up to %d yet", to)
}

// segmentBody is the records of a segment, spooled to a temporary file
// until the header, which is signed over them, can be written first.
type segmentBody struct {
	*os.File
}

// writeSegment spools records [from, to) of log, checking their sequence
// and recomputing their leaves, and returns them with the compact range of
// [0, to).
func (a *Archiver) writeSegment(ctx context.Context, log string, from, to uint64, prefix [][]byte) (*segmentBody, *compact.Range, error) {
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return nil, nil, err
	}
	rng, err := (&compact.RangeFactory{Hash: a.Hasher.HashChildren}).NewRange(0, from, prefix)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.CreateTemp(a.Dir, ".records-*")
	if err != nil {
		return nil, nil, err
	}
	body := &segmentBody{f}
	w := bufio.NewWriter(f)
	errDone := errors.New("done")
	err = a.Store.Scan(ctx, log, from, func(row Row) error {
		if row.Seq >= to {
			return errDone
		}
		if row.Seq != rng.End() {
			return fmt.Errorf("record %d is missing", rng.End())
		}
		if err := rng.Append(a.Hasher.HashLeaf(row.Data), nil); err != nil {
			return err
		}
		_, err := w.Write(append(row.Data, '\n'))
		return err
	})
	if err == nil || errors.Is(err, errDone) {
		err = w.Flush()
	}
	if err == nil && rng.End() != to {
		err = fmt.Errorf("records end at %d before %d", rng.End(), to)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, nil, err
	}
	return body, rng, nil
}

// finish writes the segment file — header, then the spooled records, gzip'd
// — durably under a name that sorts by position, and returns its path.
func (b *segmentBody) finish(dir string, h SegmentHeader) (string, error) {
	defer b.Close()
	name := filepath.Join(dir, fmt.Sprintf("%s-%020d-%020d.jsonl.gz", h.Log, h.From, h.To))
	tmp, err := os.CreateTemp(dir, ".segment-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	err = json.NewEncoder(zw).Encode(h)
	if err == nil {
		if _, err = b.Seek(0, io.SeekStart); err == nil {
			_, err = io.Copy(zw, b)
		}
	}
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return name, os.Rename(tmp.Name(), name)
}

// SegmentReport describes a verified segment.
type SegmentReport struct {
	Log      string     `json:"log"`
	From, To uint64     `json:"-"`
	Signed   Checkpoint `json:"checkpoint"`
}

// VerifySegment checks a segment file on its own: its checkpoint's signature,
// and that its records, after the prefix it carries, hash to that root.
func VerifySegment(r io.Reader, keys KeySet) (*SegmentReport, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("audit: segment is not gzip: %w", err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	if !sc.Scan() {
		return nil, errors.New("audit: segment has no header")
	}
	var h SegmentHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Type != segmentType {
		return nil, errors.New("audit: segment header is not a bankguard audit segment")
	}
	if err := h.Checkpoint.Verify(keys); err != nil {
		return nil, err
	}
	if h.Checkpoint.Log != h.Log || h.Checkpoint.Size != h.To {
		return nil, errors.New("audit: the segment's checkpoint is not for its range")
	}
	hasher, err := NewHasher(h.Checkpoint.Hash)
	if err != nil {
		return nil, err
	}
	rng, err := (&compact.RangeFactory{Hash: hasher.HashChildren}).NewRange(0, h.From, h.Prefix)
	if err != nil {
		return nil, fmt.Errorf("audit: the segment's prefix is corrupt: %w", err)
	}
	for sc.Scan() {
		line := sc.Bytes()
		rec, err := ParseCanonical(line)
		if err != nil || rec.Seq != rng.End() || rec.Log != h.Log {
			return nil, fmt.Errorf("audit: segment record %d is edited, missing or out of place", rng.End())
		}
		if err := rng.Append(hasher.HashLeaf(line), nil); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit: segment: %w", err)
	}
	if rng.End() != h.To {
		return nil, fmt.Errorf("audit: segment ends at record %d, its header says %d: truncated", rng.End(), h.To)
	}
	root, err := rng.GetRootHash(nil)
	if err != nil || !bytes.Equal(root, h.Checkpoint.Root) {
		return nil, errors.New("audit: the segment's records do not match its signed checkpoint")
	}
	return &SegmentReport{Log: h.Log, From: h.From, To: h.To, Signed: h.Checkpoint}, nil
}
