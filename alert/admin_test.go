package alert

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// call sends a request to h as operator (none if "") and decodes the JSON answer.
func call(t *testing.T, h http.Handler, method, target, body, operator string, out any) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if operator != "" {
		req.Header.Set("X-Test-Operator", operator)
	}
	w := httptest.NewRecorder()
	w.Header().Set("X-Request-Id", "REQ1")
	h.ServeHTTP(w, req)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, target, err, w.Body)
		}
	}
	return w
}

func byHeader(r *http.Request) string { return r.Header.Get("X-Test-Operator") }

// wantProblem checks a problem+json refusal.
func wantProblem(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var p struct {
		Status    int    `json:"status"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &p)
	if w.Code != status || p.Code != code || p.RequestID != "REQ1" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("got %d %s (%s), want %d %s problem+json", w.Code, p.Code, w.Body, status, code)
	}
}

func TestIncidentLifecycleThroughAdminAPI(t *testing.T) {
	clk := newClock()
	m := newTest(t, clk, Options{})
	h := m.Handler(byHeader)
	ctx := context.Background()

	m.Raise(ctx, warn("signature.burst", "ip:203.0.113.7"))
	clk.Advance(time.Minute)
	crit := warn("blacklist.auto", "ip:203.0.113.7") // another rule, same subject: joins
	crit.Severity = Critical
	m.Raise(ctx, crit)
	m.Raise(ctx, Alert{Rule: "ratelimit.alarm", Severity: Info, Subject: "ip:203.0.113.7"}) // info: no incident
	m.Raise(ctx, warn("breaker.open", "upstream:core"))                                     // other subject: its own
	flush(t, m)

	var list struct{ Incidents []Incident }
	call(t, h, "GET", "/admin/v1/incidents?status=open", "", "alice", &list)
	if len(list.Incidents) != 2 {
		t.Fatalf("open incidents = %d, want 2", len(list.Incidents))
	}
	var inc Incident
	for _, i := range list.Incidents {
		if i.Subject == "ip:203.0.113.7" {
			inc = i
		}
	}
	if inc.Severity != Critical || inc.Alerts != 2 || len(inc.Timeline) != 2 || inc.Timeline[1].Rule != "blacklist.auto" ||
		strings.Join(inc.Rules, ",") != "signature.burst,blacklist.auto" {
		t.Fatalf("joined incident = %+v", inc)
	}

	clk.Advance(9 * time.Minute)
	var acked Incident
	w := call(t, h, "POST", "/admin/v1/incidents/"+inc.ID+"/ack", `{"note":"looking, call 13812345678"}`, "alice", &acked)
	if w.Code != 200 || acked.Status != StatusAcknowledged || acked.AcknowledgedBy != "alice" {
		t.Fatalf("ack: %d %+v", w.Code, acked)
	}
	last := acked.Timeline[len(acked.Timeline)-1]
	if last.Kind != EntryAck || last.By != "alice" || strings.Contains(last.Text, "13812345678") || !strings.HasPrefix(last.Text, "looking") {
		t.Errorf("ack entry = %+v, want alice's masked note", last)
	}
	wantProblem(t, call(t, h, "POST", "/admin/v1/incidents/"+inc.ID+"/ack", "", "bob", nil), http.StatusConflict, "request_invalid")

	var noted Incident
	call(t, h, "POST", "/admin/v1/incidents/"+inc.ID+"/notes", `{"note":"blocked at the firewall"}`, "bob", &noted)
	if e := noted.Timeline[len(noted.Timeline)-1]; e.Kind != EntryNote || e.By != "bob" {
		t.Errorf("note entry = %+v", e)
	}

	clk.Advance(20 * time.Minute)
	var resolved Incident
	call(t, h, "POST", "/admin/v1/incidents/"+inc.ID+"/resolve", `{"note":"source blacklisted"}`, "bob", &resolved)
	if resolved.Status != StatusResolved || resolved.ResolvedBy != "bob" || resolved.Timeline[len(resolved.Timeline)-1].Kind != EntryResolve {
		t.Fatalf("resolve: %+v", resolved)
	}
	wantProblem(t, call(t, h, "POST", "/admin/v1/incidents/"+inc.ID+"/resolve", "", "bob", nil), http.StatusConflict, "request_invalid")

	var got Incident
	call(t, h, "GET", "/admin/v1/incidents/"+inc.ID, "", "carol", &got)
	kinds := []string{}
	for _, e := range got.Timeline {
		kinds = append(kinds, string(e.Kind))
	}
	if strings.Join(kinds, ",") != "alert,alert,ack,note,resolve" {
		t.Errorf("timeline = %v", kinds)
	}

	// After resolution the subject's next alert opens a new incident.
	clk.Advance(10 * time.Minute) // past the de-duplication window
	m.Raise(ctx, warn("signature.burst", "ip:203.0.113.7"))
	flush(t, m)
	call(t, h, "GET", "/admin/v1/incidents?status=open", "", "alice", &list)
	if len(list.Incidents) != 2 || list.Incidents[0].ID == inc.ID || list.Incidents[0].Subject != "ip:203.0.113.7" {
		t.Errorf("open incidents after resolution = %+v", list.Incidents)
	}

	var alerts struct {
		Alerts  []Record
		Dropped int64
	}
	call(t, h, "GET", "/admin/v1/alerts?min_severity=warning", "", "alice", &alerts)
	if len(alerts.Alerts) != 4 || alerts.Alerts[0].Rule != "signature.burst" || alerts.Alerts[0].IncidentID == inc.ID {
		t.Errorf("alerts = %+v", alerts.Alerts)
	}
}

func TestAdminRefusals(t *testing.T) {
	clk := newClock()
	m := newTest(t, clk, Options{})
	m.Raise(context.Background(), warn("r", "app:a"))
	flush(t, m)
	id := m.Recent(1, "")[0].IncidentID
	h := m.Handler(byHeader)
	for _, tc := range []struct {
		name, method, target, body, operator string
		status                               int
		code                                 string
	}{
		{"no operator", "GET", "/admin/v1/incidents", "", "", 403, "api_not_granted"},
		{"no operator may ack", "POST", "/admin/v1/incidents/" + id + "/ack", "", "", 403, "api_not_granted"},
		{"unknown incident", "GET", "/admin/v1/incidents/INC-nope", "", "alice", 404, "not_found"},
		{"ack unknown incident", "POST", "/admin/v1/incidents/INC-nope/ack", "", "alice", 404, "not_found"},
		{"unknown field", "POST", "/admin/v1/incidents/" + id + "/ack", `{"note":"x","by":"mallory"}`, "alice", 400, "request_invalid"},
		{"not JSON", "POST", "/admin/v1/incidents/" + id + "/ack", `note=x`, "alice", 400, "request_invalid"},
		{"empty note", "POST", "/admin/v1/incidents/" + id + "/notes", `{}`, "alice", 400, "request_invalid"},
		{"bad status", "GET", "/admin/v1/incidents?status=closed", "", "alice", 400, "request_invalid"},
		{"bad limit", "GET", "/admin/v1/alerts?limit=0", "", "alice", 400, "request_invalid"},
		{"bad severity", "GET", "/admin/v1/alerts?min_severity=loud", "", "alice", 400, "request_invalid"},
		{"bad date", "GET", "/admin/v1/reports/daily?date=12/05/2026", "", "alice", 400, "request_invalid"},
		{"unknown path", "GET", "/admin/v1/incidentz", "", "alice", 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, call(t, h, tc.method, tc.target, tc.body, tc.operator, nil), tc.status, tc.code)
		})
	}
	inc, err := m.Store().Get(context.Background(), id)
	if err != nil || inc.Status != StatusOpen || len(inc.Timeline) != 1 {
		t.Errorf("refused requests changed the incident: %+v %v", inc, err)
	}
}

func TestGraverAlertReopensAcknowledgedIncident(t *testing.T) {
	st := NewMemoryStore()
	ctx := context.Background()
	t0 := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	inc, opened, _ := st.AddAlert(ctx, Alert{Rule: "a", Severity: Warning, Subject: "app:x", Time: t0}, "ALR-1")
	if !opened {
		t.Fatal("first alert opened no incident")
	}
	if _, err := st.Ack(ctx, inc.ID, "alice", "", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	inc, opened, _ = st.AddAlert(ctx, Alert{Rule: "a", Severity: Warning, Subject: "app:x", Time: t0.Add(2 * time.Minute)}, "ALR-2")
	if opened || inc.Status != StatusAcknowledged {
		t.Fatalf("an equal alert changed the acknowledged incident: %+v", inc)
	}
	inc, _, _ = st.AddAlert(ctx, Alert{Rule: "b", Severity: Critical, Subject: "app:x", Time: t0.Add(3 * time.Minute)}, "ALR-3")
	if inc.Status != StatusOpen || inc.Severity != Critical || inc.AcknowledgedBy != "alice" {
		t.Errorf("after a graver alert: %+v, want open again at critical", inc)
	}
}

func TestMemoryStoreBounds(t *testing.T) {
	st := NewMemoryStore()
	st.MaxIncidents, st.MaxTimeline = 2, 3
	ctx := context.Background()
	t0 := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	first, _, _ := st.AddAlert(ctx, Alert{Rule: "r", Severity: Warning, Subject: "app:1", Time: t0}, "A")
	for i := range 5 {
		st.AddAlert(ctx, Alert{Rule: "r", Severity: Warning, Subject: "app:1", Time: t0.Add(time.Duration(i) * time.Second)}, "B")
	}
	got, _ := st.Get(ctx, first.ID)
	if got.Alerts != 6 || len(got.Timeline) != 3 || got.Omitted != 3 {
		t.Errorf("capped timeline: alerts=%d entries=%d omitted=%d", got.Alerts, len(got.Timeline), got.Omitted)
	}
	second, _, _ := st.AddAlert(ctx, Alert{Rule: "r", Severity: Warning, Subject: "app:2", Time: t0}, "C")
	st.Resolve(ctx, second.ID, "ops", "", t0.Add(time.Minute))
	st.AddAlert(ctx, Alert{Rule: "r", Severity: Warning, Subject: "app:3", Time: t0}, "D")
	if _, err := st.Get(ctx, second.ID); err != ErrNotFound {
		t.Errorf("the resolved incident was kept over the cap: %v", err)
	}
	if _, err := st.Get(ctx, first.ID); err != nil {
		t.Errorf("an open incident was evicted before a resolved one: %v", err)
	}
}
