package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/alert"
	"github.com/bankguard/bankguard/gateway/bankkeys"
	"github.com/bankguard/bankguard/httpsig"
	"github.com/bankguard/bankguard/registry"
)

// oneApp is a registry.Reader holding one app.
type oneApp struct{ app registry.App }

func (o oneApp) Apps(context.Context) ([]registry.App, error) { return []registry.App{o.app}, nil }
func (o oneApp) App(_ context.Context, id string) (registry.App, error) {
	if id != o.app.ID {
		return registry.App{}, registry.ErrNotFound
	}
	return o.app, nil
}
func (o oneApp) Credentials(context.Context) ([]registry.Credential, error) { return nil, nil }
func (o oneApp) APIs(context.Context) ([]registry.API, error)               { return nil, nil }

func TestAppNoticeIsSignedByTheBank(t *testing.T) {
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := httpsig.NewSigner(httpsig.AlgSM2SM3, priv)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := bankkeys.NewSet([]bankkeys.Key{{KeyID: "bank-1", Signer: signer, Public: priv.Public(),
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer srv.Close()
	n := appNotices{apps: oneApp{registry.App{ID: "app-1", NotifyURL: srv.URL + "/notices"}}, keys: keys,
		alerts: alert.Discard{}, log: slog.New(slog.DiscardHandler)}
	n.NotifyApp(context.Background(), "app-1", "throttled", "maintenance window until 22:00")

	var r *http.Request
	select {
	case r = <-got:
	case <-time.After(20 * time.Second): // a deadlock guard, not a timing assertion
		t.Fatal("no notice arrived")
	}
	var notice appNotice
	if err := json.Unmarshal(<-bodies, &notice); err != nil || notice.Kind != "throttled" || notice.Message != "maintenance window until 22:00" {
		t.Fatalf("notice %+v, %v", notice, err)
	}
	sigs, err := httpsig.ParseSignatures(r.Header)
	if err != nil || len(sigs) != 1 || sigs[0].Input.Params.KeyID != "bank-1" {
		t.Fatalf("signatures %+v, %v", sigs, err)
	}
	verifier, _ := httpsig.NewVerifier(httpsig.AlgSM2SM3, priv.Public())
	if err := sigs[0].Verify(httpsig.NewRequestMessage(r), verifier); err != nil {
		t.Fatalf("the notice's signature does not verify with the bank's key: %v", err)
	}
	other, _ := sm2.GenerateKey(rand.Reader)
	wrong, _ := httpsig.NewVerifier(httpsig.AlgSM2SM3, other.Public())
	if err := sigs[0].Verify(httpsig.NewRequestMessage(r), wrong); err == nil {
		t.Fatal("the notice verifies with another key")
	}
}

func TestAppNoticeWithoutURLSendsNothing(t *testing.T) {
	var raised []alert.Alert
	n := appNotices{apps: oneApp{registry.App{ID: "app-1"}}, alerts: raiserFunc(func(a alert.Alert) { raised = append(raised, a) }),
		log: slog.New(slog.DiscardHandler)}
	n.NotifyApp(context.Background(), "app-1", "paused", "paused for 5m")
	if len(raised) != 1 || raised[0].Rule != "app.notice.paused" {
		t.Fatalf("alerts %+v", raised)
	}
	if _, err := n.apps.App(context.Background(), "nope"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatal(err)
	}
}

type raiserFunc func(alert.Alert)

func (f raiserFunc) Raise(_ context.Context, a alert.Alert) { f(a) }
