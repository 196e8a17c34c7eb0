package scan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Bounds of the search for a log file's first timestamp.
const (
	headLen   = 64 << 10 // bytes read from the start of a log
	headLines = 50       // lines searched for a timestamp
)

var (
	// isoStamp matches RFC 3339 and the common "2006-01-02 15:04:05" and
	// "2006/01/02 15:04:05" forms, with optional fraction (. or ,) and zone.
	isoStamp = regexp.MustCompile(`(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d{1,9})?(Z|[+-]\d{2}:?\d{2})?`)
	// clfStamp matches the Common Log Format of web servers:
	// "10/Oct/2000:13:55:36 -0700".
	clfStamp = regexp.MustCompile(`(\d{2})/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})`)
)

// jsonStampMembers are the members of a JSON log record that hold its time.
var jsonStampMembers = []string{"ts", "time", "timestamp", "@timestamp"}

// firstTimestamp returns the first plausible timestamp in the first lines of
// head and its line number (from 1). Times before 1990 or more than a day
// after now are not plausible log times and are passed over.
func firstTimestamp(head []byte, now time.Time) (time.Time, int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 0, 4096), headLen)
	for n := 1; n <= headLines && sc.Scan(); n++ {
		if t, ok := lineTimestamp(sc.Text()); ok && plausible(t, now) {
			return t, n, true
		}
	}
	return time.Time{}, 0, false
}

func plausible(t, now time.Time) bool {
	return t.Year() >= 1990 && !t.After(now.Add(24*time.Hour))
}

// lineTimestamp returns the timestamp of one log line: a JSON record's time
// member, or the first timestamp written in the line. A time without a zone
// is taken as UTC: the retention check counts days.
func lineTimestamp(line string) (time.Time, bool) {
	if s := strings.TrimSpace(line); strings.HasPrefix(s, "{") {
		if t, ok := jsonTimestamp(s); ok {
			return t, true
		}
	}
	if m := isoStamp.FindStringSubmatch(line); m != nil {
		if t, ok := isoTime(m); ok {
			return t, true
		}
	}
	if m := clfStamp.FindStringSubmatch(line); m != nil {
		if t, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[0]); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// jsonTimestamp reads the time member of a JSON log record: a string in one
// of the forms above, or a number of Unix seconds, milliseconds,
// microseconds or nanoseconds.
func jsonTimestamp(s string) (time.Time, bool) {
	var rec map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &rec) != nil {
		return time.Time{}, false
	}
	for _, k := range jsonStampMembers {
		raw, ok := rec[k]
		if !ok {
			continue
		}
		var str string
		if json.Unmarshal(raw, &str) == nil {
			if m := isoStamp.FindStringSubmatch(str); m != nil {
				if t, ok := isoTime(m); ok {
					return t, true
				}
			}
			continue
		}
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return unixTime(f)
		}
	}
	return time.Time{}, false
}

// unixTime reads a Unix time whose unit shows in its size.
func unixTime(f float64) (time.Time, bool) {
	if f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e19 {
		return time.Time{}, false
	}
	switch {
	case f >= 1e17:
		return time.Unix(0, int64(f)).UTC(), true
	case f >= 1e14:
		return time.UnixMicro(int64(f)).UTC(), true
	case f >= 1e11:
		return time.UnixMilli(int64(f)).UTC(), true
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// isoTime builds the time of an isoStamp match, refusing impossible dates.
func isoTime(m []string) (time.Time, bool) {
	var n [6]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	loc, ok := zone(m[7])
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, loc)
	if t.Year() != n[0] || int(t.Month()) != n[1] || t.Day() != n[2] || t.Hour() != n[3] || t.Minute() != n[4] || t.Second() != n[5] {
		return time.Time{}, false
	}
	return t, true
}

// zone reads "Z", "+08:00", "+0800" or "" (UTC).
func zone(z string) (*time.Location, bool) {
	if z == "" || z == "Z" {
		return time.UTC, true
	}
	digits := strings.ReplaceAll(z[1:], ":", "")
	h, err1 := strconv.Atoi(digits[:2])
	mi, err2 := strconv.Atoi(digits[2:])
	if err1 != nil || err2 != nil || h > 14 || mi > 59 {
		return nil, false
	}
	off := (h*60 + mi) * 60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), true
}
