package fieldcrypt

import (
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// The envelope of an encrypted document (docs/envelope.md).
const (
	// EnvelopeMember is the top-level member that carries the envelope.
	EnvelopeMember = "bankguard_encryption"
	// WrappedMember holds the original document when its root is not an
	// object ("wrapped": true in the envelope).
	WrappedMember = "data"
	// Version is the envelope version, the member "v".
	Version = 1
	// Alg is the algorithm suite, the member "alg": the data key is
	// wrapped with SM2 encryption (GB/T 32918.4, C1C3C2), fields are
	// encrypted with SM4 (GB/T 32907) in GCM mode.
	Alg = "SM2-SM4-GCM"
	// ValuePrefix starts every encrypted field value.
	ValuePrefix = "sm4gcm:v1:"

	manifestLabel = "bankguard-fieldcrypt/v1"
	dataKeySize   = 16
	nonceSize     = 12
	tagSize       = 16
	// wrappedKeySize is the SM2 ciphertext of a data key: C1 (0x04 ‖ x ‖ y)
	// ‖ C3 (SM3) ‖ C2 (as long as the key).
	wrappedKeySize = 65 + 32 + dataKeySize
)

// errRandom reports a failing source of randomness (never crypto/rand).
var errRandom = errors.New("fieldcrypt: cannot read random bytes")

// sm2Opts selects the GB/T 32918.4 ciphertext layout: uncompressed C1,
// then C3, then C2, concatenated (no ASN.1).
var sm2Opts = sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2)

// EncryptFields replaces the values at the given JSON-pointer patterns of doc
// ("/entries/*/account_number"; a segment "*" is any member or index) with
// ciphertexts under a fresh 16-byte SM4 data key, and wraps the data key
// with the recipient's SM2 encryption public key (never its signing key),
// which the recipient knows as recipientKeyID. Clearing and reconciliation
// data encrypted in transit: T/PCAC 0008-2020 3.2.5.
//
// Each selected value, of any JSON type, becomes the string ValuePrefix +
// base64(nonce ‖ SM4-GCM ciphertext ‖ tag) of its compact JSON encoding; a
// value inside another selected value is encrypted with it. The envelope is
// added as the first member of the root object, EnvelopeMember; a root that
// is not an object is wrapped as {EnvelopeMember: …, "data": root}. The
// result is compact JSON with member order and number literals kept. Patterns
// that select nothing are not an error; the envelope then lists no field.
//
// doc must be at most MaxDocumentSize bytes and MaxDepth deep, have unique
// member names and no member EnvelopeMember at its root; the result must
// also fit in MaxDocumentSize, so DecryptFields accepts everything
// EncryptFields returns. See docs/envelope.md.
func EncryptFields(doc []byte, patterns []string, recipient *ecdsa.PublicKey, recipientKeyID string) ([]byte, error) {
	return encryptFields(rand.Reader, doc, patterns, recipient, recipientKeyID)
}

func encryptFields(random io.Reader, doc []byte, patterns []string, recipient *ecdsa.PublicKey, kid string) ([]byte, error) {
	if err := checkPublicKey(recipient); err != nil {
		return nil, err
	}
	if !ValidKeyID(kid) {
		return nil, wrap(ErrMalformed, "invalid recipient key id")
	}
	pats, err := parsePatterns(patterns)
	if err != nil {
		return nil, err
	}
	root, err := parseJSON(doc, MaxDepth)
	if err != nil {
		return nil, err
	}
	if root.kind == kindObject && root.member(EnvelopeMember) >= 0 {
		return nil, wrap(ErrMalformed, "document already has a member "+EnvelopeMember)
	}
	matches := matchAll(root, pats)

	dataKey := make([]byte, dataKeySize)
	defer clear(dataKey)
	if _, err := io.ReadFull(random, dataKey); err != nil {
		return nil, errRandom
	}
	wrapped, err := sm2.Encrypt(random, recipient, dataKey, sm2Opts)
	if err != nil || len(wrapped) != wrappedKeySize {
		return nil, wrap(ErrInvalidKey, "cannot wrap the data key")
	}
	fields := make([]string, len(matches))
	for i, m := range matches {
		fields[i] = m.ptr
	}
	wrappedRoot := root.kind != kindObject
	aead, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	mf := manifest(kid, wrapped, wrappedRoot, fields)
	aad := make([]byte, 0, len(mf)+64)
	var pt, sealed []byte
	grow := 0 // a lower bound of the result's size, to give up early
	for _, m := range matches {
		pt = appendJSON(pt[:0], m.parent.kids[m.index])
		if cap(sealed) < nonceSize {
			sealed = make([]byte, nonceSize, nonceSize+len(pt)+tagSize)
		}
		sealed = sealed[:nonceSize]
		if _, err := io.ReadFull(random, sealed); err != nil {
			return nil, errRandom
		}
		aad = append(append(aad[:0], mf...), m.ptr...)
		sealed = aead.Seal(sealed, sealed[:nonceSize], pt, aad)
		m.parent.kids[m.index] = &node{kind: kindString, s: ValuePrefix + base64.StdEncoding.EncodeToString(sealed)}
		if grow += len(ValuePrefix) + base64.StdEncoding.EncodedLen(len(sealed)) + len(m.ptr) + 6; grow > MaxDocumentSize {
			return nil, wrap(ErrTooLarge, "encrypted document would be over the size limit")
		}
	}
	clear(pt)

	env := envelopeNode(kid, wrapped, wrappedRoot, fields)
	out := &node{kind: kindObject, keys: []string{EnvelopeMember}, kids: []*node{env}}
	if wrappedRoot {
		out.keys = append(out.keys, WrappedMember)
		out.kids = append(out.kids, root)
	} else {
		out.keys = append(out.keys, root.keys...)
		out.kids = append(out.kids, root.kids...)
	}
	res := appendJSON(make([]byte, 0, len(doc)+len(doc)/2+256), out)
	if len(res) > MaxDocumentSize {
		return nil, wrap(ErrTooLarge, "encrypted document would be over the size limit")
	}
	return res, nil
}

// envelopeNode builds the envelope member's value.
func envelopeNode(kid string, wrappedKey []byte, wrappedRoot bool, fields []string) *node {
	fs := &node{kind: kindArray, kids: make([]*node, len(fields))}
	for i, f := range fields {
		fs.kids[i] = &node{kind: kindString, s: f}
	}
	env := &node{kind: kindObject,
		keys: []string{"v", "alg", "kid", "wrapped_key", "fields"},
		kids: []*node{
			{kind: kindNumber, s: "1"},
			{kind: kindString, s: Alg},
			{kind: kindString, s: kid},
			{kind: kindString, s: base64.StdEncoding.EncodeToString(wrappedKey)},
			fs,
		},
	}
	if wrappedRoot {
		env.keys = append(env.keys, "wrapped")
		env.kids = append(env.kids, &node{kind: kindBool, b: true})
	}
	return env
}

// manifest is the SM3 digest that binds every field's ciphertext to the
// whole envelope: it starts each field's GCM additional data, followed by
// the field's concrete pointer. Each item is preceded by its length as 4
// bytes big-endian.
func manifest(kid string, wrappedKey []byte, wrappedRoot bool, fields []string) []byte {
	h := sm3.New()
	var n [4]byte
	item := func(b []byte) {
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	root := "0"
	if wrappedRoot {
		root = "1"
	}
	item([]byte(manifestLabel))
	item([]byte(Alg))
	item([]byte(kid))
	item(wrappedKey)
	item([]byte(root))
	for _, f := range fields {
		item([]byte(f))
	}
	return h.Sum(nil)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, wrap(ErrInvalidKey, "cannot set up sm4")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, wrap(ErrInvalidKey, "cannot set up sm4-gcm")
	}
	return aead, nil
}

// envelope is a parsed EnvelopeMember.
type envelope struct {
	kid         string
	wrappedKey  []byte
	wrappedRoot bool
	fields      []string
}

// DecryptFields reverses EncryptFields with the recipient's SM2 private key:
// it checks the envelope, unwraps the data key, decrypts every listed field,
// removes the envelope (and the wrapper of a non-object root) and returns
// the original document as compact JSON.
//
// It refuses, wrapping the error named: a document without envelope
// (ErrNoEnvelope); an unknown version, algorithm or value prefix
// (ErrUnsupported); a wrong key, an altered ciphertext, envelope or list of
// fields, or a ciphertext moved to another field (ErrDecrypt); a listed field
// that is absent, listed twice or not encrypted (ErrEnvelope); and a document
// or envelope that is not well formed or over the limits (ErrMalformed,
// ErrTooLarge).
func DecryptFields(doc []byte, priv *sm2.PrivateKey) ([]byte, error) {
	if err := checkPrivateKey(priv); err != nil {
		return nil, err
	}
	// One level more than MaxDepth for the wrapper of a non-object root.
	root, err := parseJSON(doc, MaxDepth+1)
	if err != nil {
		return nil, err
	}
	env, err := takeEnvelope(root)
	if err != nil {
		return nil, err
	}
	if env.wrappedRoot {
		if len(root.keys) != 1 || root.keys[0] != WrappedMember {
			return nil, wrap(ErrMalformed, "wrapped document must have the envelope and \""+WrappedMember+"\" only")
		}
		root = root.kids[0]
	}
	matches, err := locate(root, env.fields)
	if err != nil {
		return nil, err
	}
	dataKey, err := sm2.Decrypt(priv, env.wrappedKey)
	if err != nil || len(dataKey) != dataKeySize {
		return nil, wrap(ErrDecrypt, "cannot unwrap the data key (wrong key or altered envelope)")
	}
	defer clear(dataKey)
	aead, err := newAEAD(dataKey)
	if err != nil {
		return nil, err
	}
	mf := manifest(env.kid, env.wrappedKey, env.wrappedRoot, env.fields)
	opened := make([]*node, len(matches))
	var pt, aad []byte
	for i, m := range matches {
		v := m.parent.kids[m.index]
		enc, ok := strings.CutPrefix(v.s, ValuePrefix)
		if v.kind != kindString || !ok {
			if v.kind == kindString && strings.HasPrefix(v.s, "sm4gcm:") {
				return nil, wrap(ErrUnsupported, "field "+quotePointer(m.ptr)+" has an unknown value version")
			}
			return nil, wrap(ErrEnvelope, "listed field "+quotePointer(m.ptr)+" is not encrypted")
		}
		raw, ok := decodeBase64(enc)
		if !ok || len(raw) < nonceSize+tagSize+1 {
			return nil, wrap(ErrMalformed, "field "+quotePointer(m.ptr)+" is not a well-formed ciphertext")
		}
		aad = append(append(aad[:0], mf...), m.ptr...)
		pt, err = aead.Open(pt[:0], raw[:nonceSize], raw[nonceSize:], aad)
		if err != nil {
			return nil, wrap(ErrDecrypt, "field "+quotePointer(m.ptr)+" does not authenticate (altered, moved or wrong key)")
		}
		// The value's containers count from the field's own depth.
		if opened[i], err = parseJSON(pt, MaxDepth-strings.Count(m.ptr, "/")); err != nil {
			return nil, wrap(ErrMalformed, "field "+quotePointer(m.ptr)+" does not decrypt to one json value")
		}
	}
	clear(pt)
	// Replace only after every field opened, so no pointer resolves into a
	// decrypted value.
	for i, m := range matches {
		m.parent.kids[m.index] = opened[i]
	}
	return appendJSON(make([]byte, 0, len(doc)), root), nil
}

// EnvelopeKeyID returns the key id an encrypted document names in its
// envelope, so a recipient with several encryption keys can choose one.
func EnvelopeKeyID(doc []byte) (string, error) {
	root, err := parseJSON(doc, MaxDepth+1)
	if err != nil {
		return "", err
	}
	env, err := takeEnvelope(root)
	if err != nil {
		return "", err
	}
	return env.kid, nil
}

// takeEnvelope parses the envelope member of root and removes it.
func takeEnvelope(root *node) (*envelope, error) {
	i := -1
	if root.kind == kindObject {
		i = root.member(EnvelopeMember)
	}
	if i < 0 {
		return nil, wrap(ErrNoEnvelope, "document has no member "+EnvelopeMember)
	}
	env, err := parseEnvelope(root.kids[i])
	if err != nil {
		return nil, err
	}
	root.removeMember(i)
	return env, nil
}

// parseEnvelope checks the envelope strictly: version and algorithm first
// (ErrUnsupported), then the other members; an unknown member is refused.
func parseEnvelope(n *node) (*envelope, error) {
	if n.kind != kindObject {
		return nil, wrap(ErrMalformed, EnvelopeMember+" must be an object")
	}
	get := func(name string, k kind) *node {
		if i := n.member(name); i >= 0 && n.kids[i].kind == k {
			return n.kids[i]
		}
		return nil
	}
	if v := get("v", kindNumber); v == nil || v.s != "1" {
		return nil, wrap(ErrUnsupported, "unknown envelope version")
	}
	if a := get("alg", kindString); a == nil || a.s != Alg {
		return nil, wrap(ErrUnsupported, "unknown envelope algorithm")
	}
	env := &envelope{}
	kid := get("kid", kindString)
	if kid == nil || !ValidKeyID(kid.s) {
		return nil, wrap(ErrMalformed, "envelope kid is missing or invalid")
	}
	env.kid = kid.s
	wk := get("wrapped_key", kindString)
	if wk == nil {
		return nil, wrap(ErrMalformed, "envelope wrapped_key is missing")
	}
	raw, ok := decodeBase64(wk.s)
	if !ok || len(raw) != wrappedKeySize || raw[0] != 0x04 {
		return nil, wrap(ErrMalformed, "envelope wrapped_key is not an sm2 ciphertext of a data key")
	}
	env.wrappedKey = raw
	fs := get("fields", kindArray)
	if fs == nil {
		return nil, wrap(ErrMalformed, "envelope fields is missing or not an array")
	}
	env.fields = make([]string, len(fs.kids))
	for i, f := range fs.kids {
		if f.kind != kindString {
			return nil, wrap(ErrMalformed, "envelope fields must be json pointers")
		}
		env.fields[i] = f.s
	}
	known := 5
	if i := n.member("wrapped"); i >= 0 {
		w := n.kids[i]
		if w.kind != kindBool {
			return nil, wrap(ErrMalformed, "envelope wrapped must be a boolean")
		}
		env.wrappedRoot = w.b
		known++
	}
	if len(n.keys) != known {
		return nil, wrap(ErrMalformed, "envelope has an unknown member")
	}
	return env, nil
}

// decodeBase64 decodes standard, padded base64 (RFC 4648 §4) in its one
// canonical form: no line breaks, no stray bits in the last character.
func decodeBase64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodedLen(len(b)) != len(s) {
		return nil, false
	}
	return b, true
}
