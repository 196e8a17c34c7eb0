package scan

import (
	"context"
	"fmt"
	"io"

	"github.com/bankguard/bankguard/assess"
	"github.com/bankguard/bankguard/pii"
)

// personalRules name the personal data a log must not hold unmasked. E-mail
// addresses, which pii.Find also reports, are left out: they are contact
// data, not the personal financial information the items name.
var personalRules = map[pii.Kind]struct{ rule, what string }{
	pii.Card:     {"unmasked-card", "bank card number"},
	pii.IDNumber: {"unmasked-id-number", "resident identity number"},
	pii.Phone:    {"unmasked-phone", "mobile number"},
}

// runPersonalData is logs.personal-data: unmasked card, identity and mobile
// numbers in the log files. T/PCAC 0008-2020 9.2.1 and 13.2 (application
// party: payment account numbers only partially masked, no other personal
// financial information); on the bank side 8.3-2 (see sideItems.personal).
func runPersonalData(ctx context.Context, o Options) assess.Result {
	items := o.items().personal
	var fs findings
	sc := scanTrees(ctx, o, []string{"logs"}, func(f *file, st *stats) error {
		scanPersonal(f, readLog(f, st), items, &fs)
		return nil
	})
	rule := "application-party logs must show card and account numbers only partially masked and hold no other personal financial information"
	if !o.app() {
		rule = "logs that keep personal data unmasked retain application requests beyond what is needed"
	}
	r := verdict(sc, &fs, "unmasked card, identity or mobile numbers", rule, items)
	if r.Verdict == assess.Pass || r.Verdict == assess.Partial {
		r.Reason += " Names and account numbers that are not card numbers cannot be told from other text and were not searched."
	}
	return r
}

// readLog returns the text of a log file, decompressing a gzipped (rotated)
// log to at most maxFileSize bytes. It returns nil, counting the skip, when
// the file is too large, binary or unreadable.
func readLog(f *file, st *stats) []byte {
	if !f.gzipped() {
		return readText(f, st)
	}
	if f.size > maxFileSize {
		st.large++
		return nil
	}
	rc, err := f.open()
	if err != nil {
		st.unreadable++
		return nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxFileSize))
	if err != nil && len(data) == 0 {
		st.unreadable++
		return nil
	}
	if isBinary(data) {
		st.binary++
		return nil
	}
	st.read++
	return data
}

// scanPersonal adds a finding for each unmasked card, identity or mobile
// number on each line of data.
func scanPersonal(f *file, data []byte, items []string, fs *findings) {
	for i, line := range lines(data) {
		found := pii.Find(line)
		if len(found) == 0 {
			continue
		}
		spans := make([]span, len(found))
		for k, p := range found {
			spans[k] = span{start: p.Start, end: p.End, mask: true}
		}
		for k, p := range found {
			pr, ok := personalRules[p.Kind]
			if !ok {
				continue
			}
			fs.add(assess.Finding{
				Rule: pr.rule, Items: items, Path: f.path(), Line: i + 1,
				Message: fmt.Sprintf("An unmasked %s is logged.", pr.what), Excerpt: excerpt(line, spans, k), Level: "error",
			})
		}
	}
}
