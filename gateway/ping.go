package gateway

import (
	_ "embed"
	"net/http"
	"time"

	"github.com/bankguard/bankguard/gateway/stage"
	"github.com/bankguard/bankguard/registry"
)

// BuiltinPing is the upstream name of the connectivity check.
const BuiltinPing = "builtin:ping"

//go:embed ping.openapi.json
var pingSpec []byte

// PingAPI is the signed connectivity-check API, GET /v1/ping (T/PCAC
// 0008-2020 3.2.3): an application checks that it reaches the bank, that its
// signature is accepted, and which interface version it talks to.
func PingAPI(bankCode string) registry.API {
	return registry.API{
		ID:       registry.APIID{BankCode: bankCode, Level: registry.A1, Category: "090001", Sequence: "00000001"}.String(),
		Name:     "Connectivity check",
		Method:   http.MethodGet,
		Path:     "/v1/ping",
		Level:    registry.A1,
		Status:   registry.APIActive,
		Version:  "1.0.0",
		Upstream: BuiltinPing,
		Spec:     pingSpec,
	}
}

type pingResponse struct {
	Status           string    `json:"status"`
	InterfaceVersion string    `json:"interface_version"`
	AppID            string    `json:"app_id"`
	KeyID            string    `json:"keyid"`
	ServerTime       time.Time `json:"server_time"`
}

func (g *Gateway) ping(w http.ResponseWriter, r *http.Request) error {
	ex := stage.FromContext(r.Context())
	resp := pingResponse{Status: "ok", InterfaceVersion: g.opts.InterfaceVersion, ServerTime: g.opts.Now().UTC().Truncate(time.Second)}
	if ex.App != nil {
		resp.AppID = ex.App.ID
	}
	if ex.Credential != nil {
		resp.KeyID = ex.Credential.KeyID
	}
	return writeJSON(w, resp)
}
