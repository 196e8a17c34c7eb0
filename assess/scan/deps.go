package scan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/bankguard/bankguard/assess"
)

// maxInventory is the most components deps.inventory lists as findings.
const maxInventory = 5000

// component is one third-party component declared in a manifest or an SBOM.
type component struct {
	kind    string // "Go module", "npm package", "Python package", "Maven artifact", "SBOM component"
	name    string
	version string
	note    string // "indirect", "dev", …
	line    int
}

// key identifies a component across manifests.
func (c component) key() string { return c.kind + "\x00" + c.name + "\x00" + c.version }

// manifest is a file deps.inventory reads.
type manifest struct {
	rel   string // slash-separated, relative to the src directory
	parse func(data []byte) ([]component, error)
}

// runDeps is deps.inventory: the third-party components the source tree
// declares. T/PCAC 0008-2020 3.1-4 asks for third-party components to be
// verified; the list is the object of that verification, which a person
// judges in the workbook.
func runDeps(ctx context.Context, o Options) assess.Result {
	t := o.tree("src")
	if t.dir == "" {
		return assess.NotTestedf("No source directory was given: pass --src.")
	}
	root, err := os.OpenRoot(t.dir)
	if err != nil {
		return assess.Errorf("The scan could not read --src: %v.", err)
	}
	defer root.Close()
	ms, thirdParty, err := findManifests(ctx, root)
	if err != nil {
		return errorResult(err, 0)
	}
	if len(ms) == 0 {
		return assess.NotTestedf("No manifest (go.mod, package.json, requirements.txt, pom.xml) or SBOM (CycloneDX or SPDX JSON) was found in src/ or the directories directly below it.%s", vendorNote(thirdParty))
	}
	return inventory(root, ms, thirdParty)
}

// inventory parses the manifests and lists their components.
func inventory(root *os.Root, ms []manifest, thirdParty []string) assess.Result {
	var (
		list    []assess.Finding
		seen    = map[string]bool{}
		sources []string
		bad     []string
	)
	for _, m := range ms {
		data, err := readManifest(root, m.rel)
		var comps []component
		if err == nil {
			comps, err = m.parse(data)
		}
		if err != nil {
			bad = append(bad, "src/"+m.rel)
		}
		if len(comps) > 0 {
			sources = append(sources, "src/"+m.rel)
		}
		for _, c := range comps {
			seen[c.key()] = true
			if len(list) < maxInventory {
				list = append(list, componentFinding(m.rel, c))
			}
		}
	}
	note := vendorNote(thirdParty)
	if len(bad) > 0 {
		note += fmt.Sprintf(" Could not read all of %s.", joinAnd(bad))
	}
	if len(seen) == 0 {
		if len(bad) > 0 {
			return assess.NotTestedf("No third-party component could be read from the manifests.%s", note)
		}
		return assess.NotTestedf("The manifests found (%s) declare no third-party component.%s", joinAnd(manifestPaths(ms)), note)
	}
	r := assess.Passf("%s listed from %s; their security verification is judged in the workbook.%s",
		count(len(seen), "third-party components"), joinAnd(sources), note)
	r.Findings = list
	return r
}

func manifestPaths(ms []manifest) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = "src/" + m.rel
	}
	return out
}

func componentFinding(rel string, c component) assess.Finding {
	msg := fmt.Sprintf("%s %s", c.kind, c.name)
	if c.version != "" {
		msg += " " + c.version
	}
	if c.note != "" {
		msg += " (" + c.note + ")"
	}
	msg = sanitize(msg)
	if len(msg) > excerptLen {
		msg = window(msg, 0)
	}
	return assess.Finding{Rule: "component", Items: []string{"3.1-4"}, Path: "src/" + rel, Line: c.line, Message: msg + ".", Level: "note"}
}

// vendorNote names vendored third-party trees, which the scans do not enter.
func vendorNote(dirs []string) string {
	if len(dirs) == 0 {
		return ""
	}
	return fmt.Sprintf(" %s %s vendored third-party code, not listed component by component.", joinAnd(dirs), plural(len(dirs), "holds", "hold"))
}

// findManifests returns the manifests in the top directory of root and the
// directories directly below it, and the vendor/ and node_modules/
// directories met there.
func findManifests(ctx context.Context, root *os.Root) ([]manifest, []string, error) {
	fsys := root.FS()
	var ms []manifest
	var thirdParty []string
	dirs := []string{"."}
	for depth := 0; len(dirs) > 0 && depth < 2; depth++ {
		var next []string
		for _, dir := range dirs {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			ents, err := fs.ReadDir(fsys, dir)
			if err != nil {
				continue
			}
			for _, e := range ents {
				p := path.Join(dir, e.Name())
				switch {
				case e.IsDir() && (e.Name() == "vendor" || e.Name() == "node_modules"):
					thirdParty = append(thirdParty, "src/"+p+"/")
				case e.IsDir() && !skipDirs[e.Name()] && !strings.HasPrefix(e.Name(), "."):
					next = append(next, p)
				case !e.IsDir():
					if parse := manifestParser(root, p); parse != nil {
						ms = append(ms, manifest{rel: p, parse: parse})
					}
				}
			}
		}
		dirs = next
	}
	return ms, thirdParty, nil
}

// manifestParser returns the parser for the file at p, or nil if it is not
// a manifest: by name, or for other JSON files by an SBOM's marker member.
func manifestParser(root *os.Root, p string) func([]byte) ([]component, error) {
	name := strings.ToLower(path.Base(p))
	switch {
	case name == "go.mod":
		return parseGoMod
	case name == "package.json":
		return parsePackageJSON
	case name == "pom.xml":
		return parsePom
	case strings.HasPrefix(name, "requirements") && strings.HasSuffix(name, ".txt"):
		return parseRequirements
	case strings.HasSuffix(name, ".json") && name != "package-lock.json" && sbomMarker(root, p):
		return parseSBOM
	}
	return nil
}

// sbomMarker reports a JSON file whose start names an SBOM format.
func sbomMarker(root *os.Root, p string) bool {
	f, err := root.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head, _ := io.ReadAll(io.LimitReader(f, 4096))
	return bytes.Contains(head, []byte(`"bomFormat"`)) || bytes.Contains(head, []byte(`"spdxVersion"`))
}

// readManifest reads a manifest of at most maxFileSize bytes.
func readManifest(root *os.Root, rel string) ([]byte, error) {
	fi, err := root.Stat(rel)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxFileSize {
		return nil, fmt.Errorf("not a regular file of at most 10 MiB")
	}
	return root.ReadFile(rel)
}

// parseGoMod reads the require directives of a go.mod, single or in blocks;
// "// indirect" marks dependencies of dependencies.
func parseGoMod(data []byte) ([]component, error) {
	var out []component
	inBlock := false
	for i, raw := range lines(data) {
		line := strings.TrimSpace(raw)
		indirect := strings.Contains(line, "// indirect")
		if k := strings.Index(line, "//"); k >= 0 {
			line = strings.TrimSpace(line[:k])
		}
		switch {
		case inBlock && line == ")":
			inBlock = false
			continue
		case inBlock:
		case strings.HasPrefix(line, "require"):
			line = strings.TrimSpace(strings.TrimPrefix(line, "require"))
			if line == "(" {
				inBlock = true
				continue
			}
		default:
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		c := component{kind: "Go module", name: strings.Trim(f[0], "\"`"), version: f[1], line: i + 1}
		if indirect {
			c.note = "indirect"
		}
		out = append(out, c)
	}
	return out, nil
}

// parseRequirements reads a pip requirements file: one requirement a line;
// options (-r, -e, --index-url) are left out and direct URLs are not shown.
func parseRequirements(data []byte) ([]component, error) {
	var out []component
	for i, raw := range lines(data) {
		line := strings.TrimSpace(raw)
		if k := strings.Index(line, " #"); k >= 0 {
			line = strings.TrimSpace(line[:k])
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-") {
			continue
		}
		spec, _, _ := strings.Cut(line, ";")
		end := strings.IndexFunc(spec, func(r rune) bool { return strings.ContainsRune("=<>!~[ @", r) })
		if end < 0 {
			end = len(spec)
		}
		name := strings.TrimSpace(spec[:end])
		if !pipName.MatchString(name) {
			continue // a URL or a path, which may carry credentials
		}
		version := strings.TrimSpace(spec[end:])
		if strings.HasPrefix(version, "[") {
			version = strings.TrimSpace(version[strings.IndexByte(version, ']')+1:])
		}
		if strings.Contains(version, "://") || strings.HasPrefix(version, "@") {
			version = "(direct reference)"
		}
		out = append(out, component{kind: "Python package", name: name, version: version, line: i + 1})
	}
	return out, nil
}

var pipName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// npmSections are the dependency members of a package.json.
var npmSections = map[string]string{
	"dependencies": "", "devDependencies": "dev", "optionalDependencies": "optional", "peerDependencies": "peer",
}

func sortedComponents(cs []component) []component {
	slices.SortStableFunc(cs, func(a, b component) int { return a.line - b.line })
	return cs
}
