package sqlite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bankguard/bankguard/registry"
	"github.com/bankguard/bankguard/secret"
)

func openTest(t *testing.T, path string, keyByte byte) (*Store, error) {
	t.Helper()
	raw := bytes.Repeat([]byte{keyByte}, secret.MasterKeySize)
	key, err := secret.NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return Open(context.Background(), path, key)
}

func TestRoundTripAndSealing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bankguard.db")
	s, err := openTest(t, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	app := registry.App{ID: "app-1", Name: "Demo", Status: registry.AppActive}
	if err := s.PutApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	secretValue := []byte("0123456789abcdef0123456789abcdef-very-secret")
	cred := registry.Credential{KeyID: "k1", AppID: "app-1", Alg: "hmac-sm3", Secret: secretValue,
		NotAfter: time.Now().Add(time.Hour)}
	if err := s.PutCredential(ctx, cred); err != nil {
		t.Fatal(err)
	}
	creds, err := s.Credentials(ctx)
	if err != nil || len(creds) != 1 || !bytes.Equal(creds[0].Secret, secretValue) {
		t.Fatalf("Credentials = %+v, %v", creds, err)
	}
	if err := s.SetAppStatus(ctx, "app-1", registry.AppSuspended); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.App(ctx, "app-1"); got.Status != registry.AppSuspended {
		t.Fatalf("status = %s", got.Status)
	}
	if err := s.SetAppStatus(ctx, "nope", registry.AppSuspended); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("SetAppStatus(unknown) = %v", err)
	}
	s.Close()

	// The secret never reaches the file in clear.
	for _, f := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, secretValue) {
			t.Fatalf("%s holds the HMAC secret in clear", f)
		}
	}
	// Another master key cannot open it.
	s2, err := openTest(t, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Credentials(ctx); err == nil {
		t.Fatal("credentials opened under the wrong master key")
	}
}

func TestCredentialNeedsApp(t *testing.T) {
	s, err := openTest(t, filepath.Join(t.TempDir(), "db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.PutCredential(context.Background(), registry.Credential{KeyID: "k", AppID: "ghost", Alg: "ed25519"})
	if err == nil {
		t.Fatal("credential for an unknown app accepted")
	}
}

func TestAPIRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, err := openTest(t, filepath.Join(t.TempDir(), "db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sunset := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	api := registry.API{ID: "OPC999990105010100000001", Name: "rates", Method: "GET", Path: "/v1/exchange-rates",
		Level: registry.A1, Status: registry.APIDeprecated, Version: "1.0.0", Upstream: "sandbox",
		Spec: []byte(`{"openapi":"3.0.3"}`), Sunset: sunset,
		Protection: registry.Protection{AuditBody: []string{"/amount"}, Mask: []registry.MaskRule{{Path: "/x", Kind: "card"}}}}
	if err := s.PutAPI(ctx, api); err != nil {
		t.Fatal(err)
	}
	apis, err := s.APIs(ctx)
	if err != nil || len(apis) != 1 {
		t.Fatalf("APIs = %v, %v", apis, err)
	}
	if got := apis[0]; !got.Sunset.Equal(sunset) || got.Level != registry.A1 || got.Status != registry.APIDeprecated ||
		len(got.Protection.AuditBody) != 1 || got.Protection.Mask[0].Kind != "card" {
		t.Fatalf("got %+v", got)
	}
	if err := s.PutAPI(ctx, registry.API{ID: "x", Status: "bogus"}); err == nil {
		t.Fatal("invalid status accepted")
	}
}
