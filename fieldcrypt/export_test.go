package fieldcrypt

import (
	"encoding/hex"
	"strings"

	"github.com/emmansun/gmsm/sm2"
)

// VectorSteps decrypts doc and lists the intermediate values of
// docs/envelope.md (data key, manifest, each field's additional data, nonce
// and plaintext), for testdata/vector/steps.txt. Tests only: it prints the
// data key.
func VectorSteps(doc []byte, priv *sm2.PrivateKey) (string, error) {
	root, err := parseJSON(doc, MaxDepth+1)
	if err != nil {
		return "", err
	}
	env, err := takeEnvelope(root)
	if err != nil {
		return "", err
	}
	if env.wrappedRoot {
		root = root.kids[0]
	}
	matches, err := locate(root, env.fields)
	if err != nil {
		return "", err
	}
	dataKey, err := sm2.Decrypt(priv, env.wrappedKey)
	if err != nil {
		return "", err
	}
	aead, err := newAEAD(dataKey)
	if err != nil {
		return "", err
	}
	mf := manifest(env.kid, env.wrappedKey, env.wrappedRoot, env.fields)
	var b strings.Builder
	b.WriteString("data_key  " + hex.EncodeToString(dataKey) + "\n")
	b.WriteString("manifest  " + hex.EncodeToString(mf) + "\n")
	for _, m := range matches {
		raw, _ := decodeBase64(strings.TrimPrefix(m.parent.kids[m.index].s, ValuePrefix))
		aad := append(append([]byte(nil), mf...), m.ptr...)
		pt, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], aad)
		if err != nil {
			return "", err
		}
		b.WriteString("\nfield     " + m.ptr + "\n")
		b.WriteString("aad       " + hex.EncodeToString(aad) + "\n")
		b.WriteString("nonce     " + hex.EncodeToString(raw[:nonceSize]) + "\n")
		b.WriteString("plaintext " + string(pt) + "\n")
	}
	return b.String(), nil
}
