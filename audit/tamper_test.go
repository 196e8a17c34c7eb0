package audit_test

import (
	"database/sql"
	"encoding/binary"
	"testing"
)

// stored is a record as the SQLite store lays it out, for tampering with.
type stored struct {
	pos          uint64 // the position the store files it at
	data, leaf   []byte
	tsMin, tsMax string // its row's time index
}

// tamperLog rewrites a log's records behind the store's back: edit gets them
// in order and returns what to store instead, one row per record.
func (f *fixture) tamperLog(t *testing.T, log string, edit func([]stored) []stored) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+f.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT first, ts_min, ts_max, records FROM audit_batches WHERE log = ? ORDER BY first`, log)
	if err != nil {
		t.Fatal(err)
	}
	var recs []stored
	for rows.Next() {
		var first uint64
		var tsMin, tsMax string
		var blob []byte
		if err := rows.Scan(&first, &tsMin, &tsMax, &blob); err != nil {
			t.Fatal(err)
		}
		for pos := first; len(blob) > 0; pos++ {
			n := int(binary.BigEndian.Uint32(blob))
			recs = append(recs, stored{pos: pos, data: blob[4 : 4+n], leaf: blob[4+n : 4+n+32], tsMin: tsMin, tsMax: tsMax})
			blob = blob[4+n+32:]
		}
	}
	rows.Close()
	recs = edit(recs)
	if _, err := db.Exec(`DELETE FROM audit_batches WHERE log = ?`, log); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		blob := binary.BigEndian.AppendUint32(nil, uint32(len(r.data)))
		blob = append(append(blob, r.data...), r.leaf...)
		if _, err := db.Exec(`INSERT INTO audit_batches (log, first, last, ts_min, ts_max, records) VALUES (?, ?, ?, ?, ?, ?)`,
			log, r.pos, r.pos, r.tsMin, r.tsMax, blob); err != nil {
			t.Fatal(err)
		}
	}
}

// at returns the index of the record filed at pos.
func at(recs []stored, pos uint64) int {
	for i, r := range recs {
		if r.pos == pos {
			return i
		}
	}
	panic("no record at that position")
}
