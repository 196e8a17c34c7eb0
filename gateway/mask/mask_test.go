package mask

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/problem"
	"github.com/bankguard/bankguard/registry"
)

const accounts = `{"accounts":[{"id":"AC4949077557","card_number":"6219999814660352367","holder_name":"朱宇志",` +
	`"holder_id_number":"330106197811198076","holder_phone":"18035413832","balance":"60609.06"}]}`

func engine(t *testing.T) *pii.Engine {
	t.Helper()
	e, err := pii.NewEngine(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func run(t *testing.T, api *registry.API, contentType, body string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	p, err := Policy(api)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Engine: engine(t), Policies: map[string]*pii.Compiled{api.ID: p}, MaxBody: 1 << 20}
	r := httptest.NewRequest("GET", "/v1/accounts", nil)
	r = r.WithContext(stage.WithExchange(context.Background(), &stage.Exchange{API: api}))
	w := httptest.NewRecorder()
	err = h.ServeHTTP(w, r, stage.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", contentType)
		_, err := io.WriteString(w, body)
		return err
	}))
	return w, err
}

func TestA2ResponsesAreMasked(t *testing.T) {
	w, err := run(t, &registry.API{ID: "A", Level: registry.A2}, "application/json; charset=utf-8", accounts)
	if err != nil {
		t.Fatal(err)
	}
	out := w.Body.String()
	if hits := pii.Find(out); len(hits) != 0 {
		t.Fatalf("unmasked personal data %v in %s", hits, out)
	}
	for _, kept := range []string{`"AC4949077557"`, `"60609.06"`, `"621999`, `2367"`, `"**志"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("%s missing from %s", kept, out)
		}
	}
}

func TestA1ResponsesPassUnlessRuled(t *testing.T) {
	w, err := run(t, &registry.API{ID: "A", Level: registry.A1}, "application/json", accounts)
	if err != nil || w.Body.String() != accounts {
		t.Fatalf("A1 without rules changed: %v %s", err, w.Body)
	}
	ruled := &registry.API{ID: "A", Level: registry.A1, Protection: registry.Protection{
		Mask: []registry.MaskRule{{Path: "/accounts/*/holder_phone", Kind: "phone"}}}}
	w, _ = run(t, ruled, "application/json", accounts)
	if strings.Contains(w.Body.String(), "18035413832") || !strings.Contains(w.Body.String(), "180****3832") {
		t.Fatalf("rule not applied: %s", w.Body)
	}
}

func TestEncryptedFieldsAreLeftForEncryption(t *testing.T) {
	api := &registry.API{ID: "R", Level: registry.A2, Protection: registry.Protection{Encrypt: []string{"/entries/*/account_number"}}}
	w, _ := run(t, api, "application/json", `{"entries":[{"account_number":"6219999814660352367","counterparty":"6219999814660352367"}]}`)
	var doc struct {
		Entries []map[string]string `json:"entries"`
	}
	json.Unmarshal(w.Body.Bytes(), &doc)
	if doc.Entries[0]["account_number"] != "6219999814660352367" || doc.Entries[0]["counterparty"] == "6219999814660352367" {
		t.Fatalf("%s", w.Body)
	}
}

func TestUnmaskableResponsesFailClosed(t *testing.T) {
	for name, tc := range map[string]struct{ ct, body string }{
		"broken JSON":   {"application/json", `{"card":"6219999814660352367"`},
		"not JSON text": {"text/plain", "card 6219999814660352367"},
	} {
		t.Run(name, func(t *testing.T) {
			w, err := run(t, &registry.API{ID: "A", Level: registry.A2}, tc.ct, tc.body)
			var pe *problem.Error
			if !errors.As(err, &pe) || w.Body.Len() != 0 {
				t.Fatalf("err=%v body=%s", err, w.Body)
			}
		})
	}
}

func TestAuditPolicyKeepsOnlyListedFieldsMasked(t *testing.T) {
	api := &registry.API{Protection: registry.Protection{AuditBody: []string{"/amount", "/to_card_number", "/to_name"}}}
	p, err := AuditPolicy(api)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"from_account_id":"AC1","to_card_number":"6219999814660352367","to_name":"朱宇志","amount":"12.00","payment_password":"sm2:v1:k:AAAA","memo":"call 18035413832"}`
	out, err := AuditBody(engine(t), []byte(body), p)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]string
	json.Unmarshal(out, &doc)
	if len(doc) != 3 || doc["amount"] != "12.00" || doc["to_name"] != "**志" || doc["to_card_number"] != "621999*********2367" {
		t.Fatalf("audit body %s", out)
	}
	if p, _ := AuditPolicy(&registry.API{}); p != nil {
		t.Fatal("an API without audit_body keeps a body")
	}
}
