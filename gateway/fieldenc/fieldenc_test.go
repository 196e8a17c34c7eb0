package fieldenc

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/bankguard/bankguard/fieldcrypt"
	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

var reconciliation = &registry.API{ID: "RECON", Protection: registry.Protection{Encrypt: []string{"/entries/*/account_number"}}}

func serve(t *testing.T, h stage.Middleware, ex *stage.Exchange, body string, backend stage.HandlerFunc) (*httptest.ResponseRecorder, bool, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	ex.Body = []byte(body)
	r = r.WithContext(stage.WithExchange(context.Background(), ex))
	w := httptest.NewRecorder()
	called := false
	err := h.ServeHTTP(w, r, stage.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		called = true
		if backend != nil {
			return backend(w, r)
		}
		return nil
	}))
	return w, called, err
}

func TestOutputsEncryptToTheApp(t *testing.T) {
	appKey, _ := sm2.GenerateKey(rand.Reader)
	h := &Outputs{MaxBody: 1 << 20, Keys: func(id string) (RecipientKey, bool) {
		return RecipientKey{ID: "app-enc-1", Key: &appKey.PublicKey}, id == "app-1"
	}}
	backend := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := io.WriteString(w, `{"entries":[{"account_number":"6222020200112233445","amount":"10.00"}]}`)
		return err
	}
	w, _, err := serve(t, h, &stage.Exchange{API: reconciliation, App: &registry.App{ID: "app-1"}}, "", backend)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w.Body.String(), "6222020200112233445") || !strings.Contains(w.Body.String(), `"amount":"10.00"`) {
		t.Fatalf("body %s", w.Body)
	}
	plain, err := fieldcrypt.DecryptFields(w.Body.Bytes(), appKey)
	if err != nil || !strings.Contains(string(plain), "6222020200112233445") {
		t.Fatalf("decrypt: %v %s", err, plain)
	}

	// An app without an encryption key is refused before the backend is called.
	_, called, err := serve(t, h, &stage.Exchange{API: reconciliation, App: &registry.App{ID: "app-2"}}, "", backend)
	var pe *problem.Error
	if called || !errors.As(err, &pe) || pe.Code != problem.LevelInsufficient {
		t.Fatalf("called=%v err=%v", called, err)
	}

	// A non-JSON body is never sent unencrypted.
	_, _, err = serve(t, h, &stage.Exchange{API: reconciliation, App: &registry.App{ID: "app-1"}}, "",
		func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "text/csv")
			_, err := io.WriteString(w, "6222020200112233445,10.00\n")
			return err
		})
	if !errors.As(err, &pe) || pe.HTTPStatus() != 500 {
		t.Fatalf("csv: %v", err)
	}
}

func TestInputsRefusePlaintextSecrets(t *testing.T) {
	bank, _ := sm2.GenerateKey(rand.Reader)
	sealed, _ := fieldcrypt.SealValue([]byte("147258"), &bank.PublicKey, "bank-enc-1")
	other, _ := fieldcrypt.SealValue([]byte("147258"), &bank.PublicKey, "retired-key")
	transfer := &registry.API{ID: "TRANSFER", Protection: registry.Protection{Sensitive: []string{"/payment_password"}}}
	h := &Inputs{KnownKey: func(id string) bool { return id == "bank-enc-1" }}
	tests := []struct {
		name, body string
		ok         bool
	}{
		{name: "sealed", body: `{"amount":"1.00","payment_password":"` + sealed + `"}`, ok: true},
		{name: "plaintext", body: `{"amount":"1.00","payment_password":"147258"}`},
		{name: "number", body: `{"amount":"1.00","payment_password":147258}`},
		{name: "sealed to an unknown key", body: `{"amount":"1.00","payment_password":"` + other + `"}`},
		{name: "fake prefix", body: `{"payment_password":"sm2:v1:bank-enc-1:MTQ3MjU4"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, called, err := serve(t, h, &stage.Exchange{API: transfer}, tt.body, nil)
			if tt.ok {
				if err != nil || !called {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *problem.Error
			if called || !errors.As(err, &pe) || pe.Code != problem.RequestInvalid || !strings.Contains(pe.Detail, "/payment_password") {
				t.Fatalf("called=%v err=%v", called, err)
			}
			if strings.Contains(pe.Detail, "147258") {
				t.Fatal("the detail echoes the secret")
			}
		})
	}
}
