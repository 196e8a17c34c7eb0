package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/metrics"
	"github.com/bankguard/bankguard/registry"
)

// countingRaiser counts every alert as raised (before de-duplication) and
// hands it to the alert manager.
type countingRaiser struct {
	m    *metrics.Metrics
	next alert.Raiser
}

func (r countingRaiser) Raise(ctx context.Context, a alert.Alert) {
	r.m.AlertRaised(a.Rule, string(a.Severity))
	r.next.Raise(ctx, a)
}

// appNotices tells an application that it was paused or throttled, with
// the reason (T/PCAC 0008-2020 6.2.1: notice to the app): a JSON POST to the
// app's registered notify URL, signed with the bank's response-signing key
// (label "bank", as on its responses) so that the app verifies it with the
// keys it already trusts. The bank's alert channel and log get it too, also
// when the app registered no URL. Delivery never holds up a request.
type appNotices struct {
	apps   registry.Reader
	keys   *bankkeys.Set
	alerts alert.Raiser
	log    *slog.Logger
}

// appNotice is the body of a notice.
type appNotice struct {
	AppID   string    `json:"app_id"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

func (n appNotices) NotifyApp(ctx context.Context, appID, kind, message string) {
	n.log.InfoContext(ctx, "notice to application", "app_id", appID, "kind", kind, "message", message)
	n.alerts.Raise(ctx, alert.Alert{Rule: "app.notice." + kind, Severity: alert.Info, Subject: "app:" + appID, Summary: message})
	app, err := n.apps.App(ctx, appID)
	if err != nil || app.NotifyURL == "" {
		return
	}
	now := time.Now()
	keyID, signer, ok := n.keys.Signer(now)
	if !ok {
		n.log.Error("notice to application not sent: no bank signing key is valid now", "app_id", appID)
		return
	}
	body, err := json.Marshal(appNotice{AppID: appID, Kind: kind, Message: message, Time: now.UTC()})
	if err != nil {
		return
	}
	hook := &alert.Webhook{URL: app.NotifyURL, KeyID: keyID, Signer: signer}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := hook.Send(ctx, body); err != nil {
			n.log.Warn("notice to application not delivered", "app_id", appID, "kind", kind, "err", err)
		}
	}()
}

// activeApps lists the active apps: those an API throttle concerns (the
// registry has no per-app grants yet).
func activeApps(st registry.Reader) func(context.Context, string) ([]string, error) {
	return func(ctx context.Context, _ string) ([]string, error) {
		apps, err := st.Apps(ctx)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, a := range apps {
			if a.Status == registry.AppActive {
				ids = append(ids, a.ID)
			}
		}
		return ids, nil
	}
}
