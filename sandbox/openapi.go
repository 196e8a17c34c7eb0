package sandbox

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPI returns the bank's OpenAPI 3.0.3 document (openapi.yaml): every operation with its
// parameters, schemas and an x-bankguard extension holding its U_API_ID, level and lifecycle
// status, which the gateway imports into its API registry (T/PCAC 0008-2020 8.1). The result
// is a copy; callers may modify it.
func OpenAPI() []byte { return bytes.Clone(openapiYAML) }
