package registry

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const doc = `openapi: 3.0.3
info: {title: t, version: 2.1.0}
paths:
  /v1/a/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      summary: Get a
      x-bankguard: {api_id: OPC999990201010100000009, level: A2, status: active}
      responses: {"200": {description: ok}}
  /v1/b:
    get:
      summary: Old b
      x-bankguard: {api_id: OPC999990105010100000009, level: A1, status: deprecated, deprecated_at: "2026-09-01T00:00:00Z", sunset: "2027-06-30T00:00:00Z"}
      responses: {"200": {description: ok}}
`

func TestImportOpenAPI(t *testing.T) {
	apis, err := ImportOpenAPI(context.Background(), []byte(doc), "core")
	if err != nil {
		t.Fatal(err)
	}
	if len(apis) != 2 {
		t.Fatalf("%d apis", len(apis))
	}
	byID := map[string]API{}
	for _, a := range apis {
		byID[a.ID] = a
	}
	a := byID["OPC999990201010100000009"]
	if a.Level != A2 || a.Path != "/v1/a/{id}" || a.Method != "GET" || a.Version != "2.1.0" || a.Upstream != "core" {
		t.Fatalf("a = %+v", a)
	}
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(a.Spec, &spec); err != nil || len(spec.Paths) != 1 || spec.Paths["/v1/a/{id}"]["parameters"] == nil {
		t.Fatalf("per-API document: %s", a.Spec)
	}
	if b := byID["OPC999990105010100000009"]; b.Status != APIDeprecated || b.Sunset.Year() != 2027 {
		t.Fatalf("b = %+v", b)
	}
}

func TestImportOpenAPIRefuses(t *testing.T) {
	tests := []struct{ name, from, to, want string }{
		{"no extension", "      x-bankguard: {api_id: OPC999990201010100000009, level: A2, status: active}\n", "", "no x-bankguard"},
		{"level disagrees with id", "api_id: OPC999990201010100000009, level: A2", "api_id: OPC999990201010100000009, level: A1", "disagrees"},
		{"bad id", "OPC999990201010100000009", "OPC9999902010101", "U_API_ID"},
		{"deprecated without date", `, deprecated_at: "2026-09-01T00:00:00Z"`, "", "deprecated_at"},
		{"unknown status", "status: active", "status: retired", "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := strings.Replace(doc, tt.from, tt.to, 1)
			if d == doc {
				t.Fatal("edit matched nothing")
			}
			if _, err := ImportOpenAPI(context.Background(), []byte(d), "core"); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
