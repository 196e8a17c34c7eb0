package audit

import (
	"context"
	"encoding/json"
	"io"
	"slices"
)

// ExportedRecord is a record as `bankguard audit export` writes it: the
// record's fields, its leaf hash, and the size of the first signed checkpoint
// that covers it (0 while none does yet).
type ExportedRecord struct {
	Record
	LeafHash   []byte `json:"leaf_hash"`
	Checkpoint uint64 `json:"checkpoint,omitempty"`
}

// Export writes the records matching f as JSON lines, in log and sequence
// order, and returns how many it wrote. f.Limit is the page size.
func Export(ctx context.Context, s Store, f Filter, w io.Writer) (int, error) {
	sizes := map[string][]uint64{}
	for _, log := range Logs {
		cps, err := s.Checkpoints(ctx, log)
		if err != nil {
			return 0, err
		}
		for _, c := range cps {
			sizes[log] = append(sizes[log], c.Size)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	enc := json.NewEncoder(w)
	n := 0
	for {
		page, err := s.Query(ctx, f)
		if err != nil {
			return n, err
		}
		for _, e := range page {
			out := ExportedRecord{Record: e.Record, LeafHash: e.Leaf}
			cps := sizes[e.Log]
			if i, _ := slices.BinarySearch(cps, e.Seq+1); i < len(cps) {
				out.Checkpoint = cps[i]
			}
			if err := enc.Encode(&out); err != nil {
				return n, err
			}
			n++
		}
		if len(page) < f.Limit {
			return n, nil
		}
		last := page[len(page)-1]
		f.AfterLog, f.AfterSeq = last.Log, last.Seq
	}
}
