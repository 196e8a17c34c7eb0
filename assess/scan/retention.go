package scan

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/bankguard/bankguard/assess"
)

// entry is the oldest known entry of one log file.
type entry struct {
	path string
	line int       // 0 when t is the file's modification time
	t    time.Time // the first timestamp, or the modification time
}

// byMtime reports an entry known only by its file's modification time: the
// time of the file's newest entry, so a lower bound of the oldest's age.
func (e entry) byMtime() bool { return e.line == 0 }

// runRetention is logs.retention: the age of the oldest log entry.
// T/PCAC 0008-2020 6.1.1-3 (bank: transaction logs kept ≥ 1 year) and
// 11.3.4-3 (application party: logs kept ≥ 6 months).
func runRetention(ctx context.Context, o Options) assess.Result {
	now := o.now()
	var entries []entry
	sc := scanTrees(ctx, o, []string{"logs"}, func(f *file, st *stats) error {
		if e, ok := firstEntry(f, st, now); ok {
			entries = append(entries, e)
		}
		return nil
	})
	switch {
	case sc.err != nil:
		return errorResult(sc.err, sc.st.limit)
	case len(sc.given) == 0:
		return assess.NotTestedf("No log directory was given: pass --logs.")
	case len(entries) == 0:
		return assess.NotTestedf("No log file with a timestamp was found in logs/.%s", sc.st.note())
	}
	r := retentionVerdict(entries, now, o.items())
	r.Reason += sc.st.note()
	return r
}

// retentionVerdict decides from the files' oldest entries. A first
// timestamp is exact; a modification time only shows that a file's entries
// are at least that old, so it can give pass but never fail.
func retentionVerdict(entries []entry, now time.Time, it sideItems) assess.Result {
	oldest, oldestExact, untimed := entries[0], entry{}, 0
	for _, e := range entries {
		if e.t.Before(oldest.t) {
			oldest = e
		}
		if e.byMtime() {
			untimed++
		} else if oldestExact.path == "" || e.t.Before(oldestExact.t) {
			oldestExact = e
		}
	}
	minAge := time.Duration(it.minDays) * 24 * time.Hour
	var r assess.Result
	switch {
	case now.Sub(oldest.t) >= minAge:
		r = assess.Passf("%s; T/PCAC 0008-2020 %s.", describe(oldest, now), it.minText)
	case oldestExact.path != "":
		r = assess.Failf("The oldest entry is %d days old (%s); T/PCAC 0008-2020 %s.", days(oldestExact.t, now), where(oldestExact.path, oldestExact.line), it.minText)
		if untimed > 0 {
			r.Reason += fmt.Sprintf(" %s had no timestamp in the first lines and %s dated by modification time only.",
				count(untimed, "files"), plural(untimed, "was", "were"))
		}
	default:
		return assess.NotTestedf("No timestamp was found in the first lines of %s in logs/, and their modification times, which date the newest entries, are at most %d days old; T/PCAC 0008-2020 %s.",
			count(len(entries), "log files"), days(oldest.t, now), it.minText)
	}
	r.Findings = []assess.Finding{{
		Rule: "oldest-entry", Items: it.retention, Path: oldest.path, Line: oldest.line,
		Message: describe(oldest, now) + ".", Level: "note",
	}}
	return r
}

// describe says how old an entry is and how that is known.
func describe(e entry, now time.Time) string {
	if e.byMtime() {
		return fmt.Sprintf("The log file %s has no timestamp in its first lines but was last modified %d days ago (%s), so its entries are at least that old",
			e.path, days(e.t, now), e.t.UTC().Format(time.DateOnly))
	}
	return fmt.Sprintf("The oldest entry is %d days old (%s, %s)", days(e.t, now), where(e.path, e.line), e.t.UTC().Format(time.DateOnly))
}

func days(t, now time.Time) int { return max(0, int(now.Sub(t).Hours()/24)) }

// firstEntry reads the first timestamp of f, or falls back to its
// modification time. Binary files other than gzipped logs are skipped.
func firstEntry(f *file, st *stats, now time.Time) (entry, bool) {
	rc, err := f.open()
	if err != nil {
		st.unreadable++
		return entry{}, false
	}
	head, err := io.ReadAll(io.LimitReader(rc, headLen))
	rc.Close()
	if err != nil && len(head) == 0 {
		st.unreadable++
		return entry{}, false
	}
	if isBinary(head) {
		st.binary++
		return entry{}, false
	}
	st.read++
	if t, line, ok := firstTimestamp(head, now); ok {
		return entry{path: f.path(), line: line, t: t}, true
	}
	fi, err := f.root.Stat(f.rel)
	if err != nil {
		return entry{}, false
	}
	return entry{path: f.path(), t: fi.ModTime()}, true
}
