package scan

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bankguard/bankguard/assess"
)

const (
	testGoMod = `module example.com/bank

go 1.26

require github.com/emmansun/gmsm v0.15.5

require (
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/text v0.21.0 // indirect
)

replace example.com/old => ../old
`
	testPackageJSON = `{
  "name": "portal",
  "version": "1.0.0",
  "dependencies": {
    "axios": "^1.7.0"
  },
  "devDependencies": {
    "vite": "5.0.0"
  }
}
`
	testRequirements = `# runtime
-r base.txt
--index-url https://user:hunter2@pypi.bank.example/simple
requests[socks]==2.32.0 ; python_version >= "3.9"
cryptography>=42  # crypto
https://user:hunter2@files.bank.example/wheel.whl
bankutil @ https://user:hunter2@files.bank.example/bankutil.whl
`
	testPom = `<?xml version="1.0" encoding="UTF-8"?>
<project>
  <dependencyManagement>
    <dependencies>
      <dependency><groupId>org.springframework</groupId><artifactId>spring-framework-bom</artifactId><version>6.1.0</version><scope>import</scope></dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>com.alibaba</groupId>
      <artifactId>fastjson</artifactId>
      <version>1.2.83</version>
      <exclusions><exclusion><groupId>x</groupId><artifactId>y</artifactId></exclusion></exclusions>
    </dependency>
  </dependencies>
  <build><plugins><plugin><artifactId>maven-shade-plugin</artifactId>
    <dependencies><dependency><groupId>p</groupId><artifactId>plugin-dep</artifactId></dependency></dependencies>
  </plugin></plugins></build>
</project>
`
	testCycloneDX = `{
  "bomFormat": "CycloneDX",
  "specVersion": "1.5",
  "metadata": {"component": {"name": "bank-gateway", "version": "2.0"}},
  "components": [
    {"type": "library", "group": "org.bouncycastle", "name": "bcprov-jdk18on", "version": "1.78", "purl": "pkg:maven/org.bouncycastle/bcprov-jdk18on@1.78"},
    {"type": "library", "name": "openssl", "version": "3.0.13"}
  ]
}
`
	testSPDX = `{
  "spdxVersion": "SPDX-2.3",
  "documentDescribes": ["SPDXRef-app"],
  "packages": [
    {"SPDXID": "SPDXRef-app", "name": "bank-app", "versionInfo": "1.0"},
    {"SPDXID": "SPDXRef-zlib", "name": "zlib", "versionInfo": "1.3.1"}
  ]
}
`
)

// TestDepsInventory plants one manifest of each kind and expects each
// component as a note at its declaration.
func TestDepsInventory(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, map[string]string{
		"go.mod":                   testGoMod,
		"web/package.json":         testPackageJSON,
		"py/requirements.txt":      testRequirements,
		"java/pom.xml":             testPom,
		"sbom/bom.cdx.json":        testCycloneDX,
		"sbom/app.spdx.json":       testSPDX,
		"deep/er/go.mod":           "module x\n\nrequire too.deep/mod v1.0.0\n",
		"vendor/github.com/x/x.go": "package x\n",
		"docs/notes.json":          `{"components": [{"name": "not an sbom"}]}`,
	})
	r := run(t, Options{Src: dir}, "deps.inventory")
	if r.Verdict != assess.Pass {
		t.Fatalf("verdict %s (%s), want pass", r.Verdict, r.Reason)
	}
	want := []struct {
		path string
		line int
		msg  string
	}{
		{"src/go.mod", 5, "Go module github.com/emmansun/gmsm v0.15.5."},
		{"src/go.mod", 8, "Go module go.yaml.in/yaml/v3 v3.0.6."},
		{"src/go.mod", 9, "Go module golang.org/x/text v0.21.0 (indirect)."},
		{"src/web/package.json", 5, "npm package axios ^1.7.0."},
		{"src/web/package.json", 8, "npm package vite 5.0.0 (dev)."},
		{"src/py/requirements.txt", 4, "Python package requests ==2.32.0."},
		{"src/py/requirements.txt", 5, "Python package cryptography >=42."},
		{"src/py/requirements.txt", 7, "Python package bankutil (direct reference)."},
		{"src/java/pom.xml", 5, "Maven artifact org.springframework:spring-framework-bom 6.1.0 (import)."},
		{"src/java/pom.xml", 9, "Maven artifact com.alibaba:fastjson 1.2.83."},
		{"src/sbom/bom.cdx.json", 6, "SBOM component org.bouncycastle/bcprov-jdk18on 1.78 (maven)."},
		{"src/sbom/bom.cdx.json", 7, "SBOM component openssl 3.0.13."},
		{"src/sbom/app.spdx.json", 6, "SBOM component zlib 1.3.1."},
	}
	got := map[string]bool{}
	for _, f := range r.Findings {
		got[f.Path+":"+strconv.Itoa(f.Line)+" "+f.Message] = true
		if f.Level != "note" || f.Rule != "component" || len(f.Items) != 1 || f.Items[0] != "3.1-4" {
			t.Errorf("finding %+v: want a component note for 3.1-4", f)
		}
		if strings.Contains(f.Message, "hunter2") || strings.Contains(f.Message, "too.deep") ||
			strings.Contains(f.Message, "plugin-dep") || strings.Contains(f.Message, "bank-app") {
			t.Errorf("finding %s line %d should not be listed: %s", f.Path, f.Line, f.Message)
		}
	}
	for _, w := range want {
		if !got[w.path+":"+strconv.Itoa(w.line)+" "+w.msg] {
			t.Errorf("missing %s line %d: %s", w.path, w.line, w.msg)
		}
	}
	if len(r.Findings) != len(want) {
		for k := range got {
			t.Log(k)
		}
		t.Errorf("%d findings, want %d", len(r.Findings), len(want))
	}
	for _, s := range []string{"13 third-party components listed", "judged in the workbook", "src/vendor/"} {
		if !strings.Contains(r.Reason, s) {
			t.Errorf("reason %q lacks %q", r.Reason, s)
		}
	}
}

func TestDepsNotTested(t *testing.T) {
	r := run(t, Options{}, "deps.inventory")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "--src") {
		t.Errorf("no --src: %s (%s), want not_tested naming --src", r.Verdict, r.Reason)
	}
	dir := t.TempDir()
	plant(t, dir, map[string]string{"main.go": "package main\n", "a/b/c/go.mod": "module x\nrequire y v1\n"})
	r = run(t, Options{Src: dir}, "deps.inventory")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "No manifest") {
		t.Errorf("no manifest: %s (%s), want not_tested", r.Verdict, r.Reason)
	}
	plant(t, dir, map[string]string{"go.mod": "module x\n\ngo 1.26\n"})
	r = run(t, Options{Src: filepath.Clean(dir)}, "deps.inventory")
	if r.Verdict != assess.NotTested || !strings.Contains(r.Reason, "declare no third-party component") {
		t.Errorf("empty go.mod: %s (%s), want not_tested", r.Verdict, r.Reason)
	}
	for _, c := range Checks(Options{Side: SideApp}) {
		if c.ID == "deps.inventory" {
			t.Error("deps.inventory runs on the application side, which has no item for it")
		}
	}
}
