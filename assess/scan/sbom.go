package scan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// parsePackageJSON reads the dependency members of a package.json.
func parsePackageJSON(data []byte) ([]component, error) {
	var out []component
	dec := json.NewDecoder(bytes.NewReader(data))
	err := jsonObject(dec, func(section string, _ int64) error {
		note, ok := npmSections[section]
		if !ok {
			return skipValue(dec)
		}
		return jsonObject(dec, func(name string, off int64) error {
			var version any
			if err := dec.Decode(&version); err != nil {
				return err
			}
			v, _ := version.(string)
			out = append(out, component{kind: "npm package", name: name, version: v, note: note, line: lineAt(data, off)})
			return nil
		})
	})
	return sortedComponents(out), err
}

// cdxComponent is a CycloneDX component; spdxPackage an SPDX package.
type (
	cdxComponent struct {
		Group   string `json:"group"`
		Name    string `json:"name"`
		Version string `json:"version"`
		Purl    string `json:"purl"`
	}
	spdxPackage struct {
		ID      string `json:"SPDXID"`
		Name    string `json:"name"`
		Version string `json:"versionInfo"`
	}
)

// parseSBOM reads a CycloneDX JSON SBOM's components[] or an SPDX JSON
// SBOM's packages[], leaving out the packages the document describes (the
// product itself).
func parseSBOM(data []byte) ([]component, error) {
	var (
		format    string
		cdx       []component
		spdx      []component
		ids       []string
		described []string
	)
	dec := json.NewDecoder(bytes.NewReader(data))
	err := jsonObject(dec, func(key string, _ int64) error {
		switch key {
		case "bomFormat", "spdxVersion":
			format = key
			return skipValue(dec)
		case "documentDescribes":
			return dec.Decode(&described)
		case "components":
			return jsonArray(dec, func(off int64) error {
				var c cdxComponent
				if err := dec.Decode(&c); err != nil {
					return err
				}
				name := c.Name
				if c.Group != "" {
					name = c.Group + "/" + c.Name
				}
				cdx = append(cdx, component{kind: "SBOM component", name: name, version: c.Version, note: purlType(c.Purl), line: lineAt(data, off)})
				return nil
			})
		case "packages":
			return jsonArray(dec, func(off int64) error {
				var p spdxPackage
				if err := dec.Decode(&p); err != nil {
					return err
				}
				ids = append(ids, p.ID)
				spdx = append(spdx, component{kind: "SBOM component", name: p.Name, version: p.Version, line: lineAt(data, off)})
				return nil
			})
		}
		return skipValue(dec)
	})
	if format == "spdxVersion" {
		var out []component
		for i, c := range spdx {
			if !slices.Contains(described, ids[i]) {
				out = append(out, c)
			}
		}
		return out, err
	}
	return cdx, err
}

// purlType returns the package type of a package URL ("pkg:maven/…" →
// "maven"), or "".
func purlType(purl string) string {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(rest, "/")
	return t
}

// pomDependency is a Maven <dependency>.
type pomDependency struct {
	Group    string `xml:"groupId"`
	Artifact string `xml:"artifactId"`
	Version  string `xml:"version"`
	Scope    string `xml:"scope"`
}

// parsePom reads the <dependency> elements of a pom.xml, in <dependencies>
// and <dependencyManagement>, but not those of build plugins.
func parsePom(data []byte) ([]component, error) {
	var out []component
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "dependency" && len(stack) > 0 && stack[len(stack)-1] == "dependencies" && !slices.Contains(stack, "plugin") {
				line, _ := dec.InputPos()
				var d pomDependency
				if err := dec.DecodeElement(&d, &t); err != nil {
					return out, err
				}
				out = append(out, component{kind: "Maven artifact", name: d.Group + ":" + d.Artifact, version: d.Version, note: d.Scope, line: line})
				continue
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// jsonObject reads a JSON object from dec, calling fn for each member with
// its name and the offset before it; fn must read the member's value.
func jsonObject(dec *json.Decoder, fn func(key string, off int64) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if err := fn(key, off); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

// jsonArray reads a JSON array from dec, calling fn with the offset before
// each element; fn must read the element.
func jsonArray(dec *json.Decoder, fn func(off int64) error) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		if err := fn(dec.InputOffset()); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("want %v, found %v", d, tok)
	}
	return nil
}

func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

// lineAt returns the line (from 1) of the first token at or after off:
// blanks, commas and colons before it are skipped.
func lineAt(data []byte, off int64) int {
	p := int(min(max(off, 0), int64(len(data))))
	for p < len(data) && strings.IndexByte(" \t\r\n,:", data[p]) >= 0 {
		p++
	}
	return 1 + bytes.Count(data[:p], []byte{'\n'})
}
