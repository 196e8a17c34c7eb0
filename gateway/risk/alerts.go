package risk

import (
	"context"
	"fmt"

	"github.com/bankguard/bankguard/alert"
)

// RuleUnavailable is the alert rule raised when the risk rules' state
// cannot be reached or updated (critical: fund transfers fail closed).
const RuleUnavailable = "risk.unavailable"

// report raises one alert per fired rule — each large or abnormal transfer
// is alerted on its own (T/PCAC 0008-2020 6.2.3) — and flags each rule for
// metrics. The alerts name the user by pseudonym and never the payee.
func (h *Handler) report(ctx context.Context, t *transfer, hits []fired, action Action, hold Hold, outcome holdOutcome) {
	if len(hits) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	result := describe(action, hold, outcome)
	for _, f := range hits {
		if h.riskFlag != nil {
			h.riskFlag(f.rule.Name)
		}
		h.alerts.Raise(ctx, alert.Alert{
			Rule:     "risk." + f.rule.Name,
			Severity: f.rule.Severity,
			Subject:  "user:" + t.user,
			Summary:  fmt.Sprintf("transfer of %s CNY through app %s %s", t.amount, t.appID, result),
			Detail:   fmt.Sprintf("rule %s (%s, action %s): %s; API %s", f.rule.Name, f.rule.Kind, f.rule.Action, f.why, t.apiID),
			TxnID:    t.txnID,
			Time:     t.now,
			Each:     true, // one by one (6.2.3), never merged with the user's earlier transfers
		})
	}
}

// describe says what became of the transfer, for the alert.
func describe(action Action, hold Hold, outcome holdOutcome) string {
	switch action {
	case ActionReject:
		return "refused"
	case ActionHold:
		switch outcome {
		case holdNew:
			return "held for confirmation as " + hold.ID
		case holdWaiting:
			return "resubmitted while " + hold.ID + " awaits confirmation"
		case holdDeclined:
			return "refused: the bank rejected " + hold.ID
		case holdReleased:
			return "passed, confirmed as " + hold.ID
		}
	case ActionNotice:
		return "passed with a risk notice"
	}
	return "passed"
}

// storeAlert reports trouble with the rules' state. The cause is not put
// in the alert: a store's error may name hosts.
func (h *Handler) storeAlert(ctx context.Context, t *transfer, summary string) {
	h.alerts.Raise(context.WithoutCancel(ctx), alert.Alert{
		Rule:     RuleUnavailable,
		Severity: alert.Critical,
		Subject:  "api:" + t.apiID,
		Summary:  summary,
		TxnID:    t.txnID,
		Time:     t.now,
	})
}
