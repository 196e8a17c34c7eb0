package assess

// Combine derives one verdict from several: an item's from its checks and
// its workbook judgement, a clause's from its items.
//
//   - nothing to combine, or only not_tested: not_tested
//   - any fail: fail; otherwise any error: error
//   - not_applicable is left out unless everything is not_applicable
//   - all pass: pass
//   - pass or partial together with anything else: partial
//   - otherwise manual waits for a person (manual, or manual with not_tested)
//
// A fail is never hidden by a pass, and a pass is never made up from
// missing evidence.
func Combine(vs ...Verdict) Verdict {
	n := map[Verdict]int{}
	for _, v := range vs {
		if !v.Valid() {
			v = Error // an unknown verdict is a defect of the check, never a pass
		}
		n[v]++
	}
	total := len(vs)
	count := func(v Verdict) int { return n[v] }
	switch {
	case total == 0:
		return NotTested
	case count(Fail) > 0:
		return Fail
	case count(Error) > 0:
		return Error
	case count(NotApplicable) == total:
		return NotApplicable
	}
	total -= count(NotApplicable)
	switch {
	case count(Pass) == total:
		return Pass
	case count(Pass)+count(Partial) > 0:
		return Partial
	case count(Manual) > 0:
		return Manual
	}
	return NotTested
}
