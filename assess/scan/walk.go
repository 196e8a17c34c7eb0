package scan

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Bounds of a scan.
const (
	// maxFileSize is the largest file read; larger files are skipped.
	maxFileSize = 10 << 20
	// maxFiles is the most files one check visits before it gives up.
	maxFiles = 50000
	// sniffLen is how much of a file is searched for a NUL byte.
	sniffLen = 8 << 10
	// maxFindings is the most findings one check keeps (all are counted).
	maxFindings = 500
)

// errTooMany stops a walk that met more than maxFiles files.
var errTooMany = errors.New("too many files")

// skipDirs are never entered: version control metadata and trees of
// third-party code.
var skipDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, "node_modules": true, "vendor": true}

// tree is one directory to scan, with the flag that named it.
type tree struct {
	flag string // "config", "src" or "logs"
	dir  string // "" when the flag was not given
}

// file is one regular file met by a walk.
type file struct {
	root *os.Root
	flag string
	rel  string // slash-separated, relative to the tree
	size int64
}

// path is the file's path in findings: the flag, a slash and rel.
func (f *file) path() string { return f.flag + "/" + f.rel }

// ext is the file's lower-case extension, with the dot.
func (f *file) ext() string { return strings.ToLower(path.Ext(f.rel)) }

// gzipped reports whether the file is a gzip-compressed (rotated) log.
func (f *file) gzipped() bool { return f.ext() == ".gz" }

// read returns the whole file, at most maxFileSize bytes of it.
func (f *file) read() ([]byte, error) {
	h, err := f.root.Open(f.rel)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return io.ReadAll(io.LimitReader(h, maxFileSize))
}

// open returns a reader of the file's content, decompressed if it is gzipped.
func (f *file) open() (io.ReadCloser, error) {
	h, err := f.root.Open(f.rel)
	if err != nil || !f.gzipped() {
		return h, err
	}
	z, err := gzip.NewReader(h)
	if err != nil {
		h.Close()
		return nil, err
	}
	return readCloser{z, h}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// isBinary reports whether data looks binary: a NUL in its first 8 KiB.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), sniffLen)], 0) >= 0
}

// stats count what a scan met and what it left out.
type stats struct {
	files      int // files visited, for the limit
	limit      int // the most files visited: maxFiles, less in tests
	read       int // files read and searched
	large      int // files over maxFileSize, skipped
	binary     int // binary files, skipped
	links      int // symbolic links not followed
	unreadable int // files or directories that could not be read
	thirdParty []string
}

// note says in a sentence what was skipped, with a leading space, or "".
func (st *stats) note() string {
	var parts []string
	if st.large > 0 {
		parts = append(parts, count(st.large, "files")+" over 10 MiB")
	}
	if st.binary > 0 {
		parts = append(parts, count(st.binary, "binary files"))
	}
	if st.unreadable > 0 {
		parts = append(parts, count(st.unreadable, "unreadable files or directories"))
	}
	if st.links > 0 {
		parts = append(parts, count(st.links, "symbolic links")+" leading outside the directory or to a non-file")
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf(" Skipped: %s.", joinAnd(parts))
}

// scanned is the outcome of walking some of the trees.
type scanned struct {
	given   []string // flags whose directory was scanned
	missing []string // flags that were not given
	st      stats
	err     error // a walk that could not finish: too many files, ctx
}

// scanTrees walks the trees named by flags and calls visit for every regular
// file with the scan's counts. visit may return an error to stop the walk.
func scanTrees(ctx context.Context, o Options, flags []string, visit func(f *file, st *stats) error) *scanned {
	sc := &scanned{st: stats{limit: o.fileLimit()}}
	for _, flag := range flags {
		t := o.tree(flag)
		if t.dir == "" {
			sc.missing = append(sc.missing, flag)
			continue
		}
		sc.given = append(sc.given, flag)
		if err := walk(ctx, t, &sc.st, visit); err != nil {
			sc.err = err
			return sc
		}
	}
	return sc
}

// walk visits the regular files of t in lexical order. It opens t as an
// os.Root, so no path, and no symbolic link, leads outside it.
func walk(ctx context.Context, t tree, st *stats, visit func(f *file, st *stats) error) error {
	root, err := os.OpenRoot(t.dir)
	if err != nil {
		return fmt.Errorf("--%s: %w", t.flag, err)
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return fmt.Errorf("--%s: %w", t.flag, err)
			}
			st.unreadable++
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return enterDir(t, p, d, st)
		}
		if st.files++; st.files > st.limit {
			return errTooMany
		}
		size, ok := regular(root, p, d, st)
		if !ok {
			return nil
		}
		return visit(&file{root: root, flag: t.flag, rel: p, size: size}, st)
	})
}

// enterDir decides whether the walk enters directory p.
func enterDir(t tree, p string, d fs.DirEntry, st *stats) error {
	if p == "." || !skipDirs[d.Name()] {
		return nil
	}
	if d.Name() == "vendor" || d.Name() == "node_modules" {
		st.thirdParty = append(st.thirdParty, t.flag+"/"+p+"/")
	}
	return fs.SkipDir
}

// regular returns the size of p if it is a regular file or a symbolic link to
// a regular file inside the root.
func regular(root *os.Root, p string, d fs.DirEntry, st *stats) (int64, bool) {
	switch {
	case d.Type().IsRegular():
		fi, err := d.Info()
		if err != nil {
			st.unreadable++
			return 0, false
		}
		return fi.Size(), true
	case d.Type()&fs.ModeSymlink != 0:
		fi, err := root.Stat(p) // follows links, refuses those leaving the root
		if err != nil || !fi.Mode().IsRegular() {
			st.links++
			return 0, false
		}
		return fi.Size(), true
	}
	return 0, false // devices, sockets, pipes
}

// readText reads f for a text search. It returns nil, counting the skip,
// when f is too large, binary or unreadable.
func readText(f *file, st *stats) []byte {
	if f.size > maxFileSize {
		st.large++
		return nil
	}
	data, err := f.read()
	if err != nil {
		st.unreadable++
		return nil
	}
	if isBinary(data) {
		st.binary++
		return nil
	}
	st.read++
	return data
}

// lines splits text into lines without their line ends.
func lines(data []byte) []string {
	s := string(data)
	out := strings.Split(s, "\n")
	if len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	for i, l := range out {
		out[i] = strings.TrimSuffix(l, "\r")
	}
	return out
}
