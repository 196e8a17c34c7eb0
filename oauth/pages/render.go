package pages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

//go:embed templates/*.html templates/style.css
var assets embed.FS

// views holds the parsed pages and the stylesheet, which every page embeds
// in a <style> element that the CSP admits by its SHA-256 hash: no external
// asset, no inline script, no nonce to manage.
type views struct {
	pages     map[string]*template.Template
	css       template.CSS
	styleHash string // "sha256-…"
}

func newViews() (*views, error) {
	css, err := assets.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	v := &views{
		pages:     map[string]*template.Template{},
		css:       template.CSS(css),
		styleHash: "sha256-" + base64.StdEncoding.EncodeToString(sum[:]),
	}
	for _, name := range []string{"login", "totp", "consent", "account", "message"} {
		t, err := template.New(name).Funcs(template.FuncMap{"join": strings.Join}).
			ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		v.pages[name] = t
	}
	return v, nil
}

// pageData is what every page template receives.
type pageData struct {
	Issuer string
	CSS    template.CSS
	Title  msg
	CSRF   string
	// Code is the stable code of a refusal, rendered as <main data-error>.
	Code   string
	Error  *msg
	Notice *msg
	Body   any
}

// render writes a page with status. The template runs into a buffer first,
// so a template failure becomes a clean 500, never half a page.
func (h *Handler) render(w http.ResponseWriter, status int, page string, d pageData) {
	d.Issuer, d.CSS = h.cfg.Issuer, h.view.css
	var buf bytes.Buffer
	if err := h.view.pages[page].ExecuteTemplate(&buf, "layout", d); err != nil {
		h.log.Error("pages: template", "page", page, "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// messageView is the body of a message page.
type messageView struct {
	Link     string
	LinkText msg
}

// message renders a page that only says m (a refusal when code is set).
func (h *Handler) message(w http.ResponseWriter, status int, code string, m msg) {
	h.messageLink(w, status, code, m, "", msg{})
}

func (h *Handler) messageLink(w http.ResponseWriter, status int, code string, m msg, link string, text msg) {
	title := msg{"提示", "Notice"}
	var errMsg, notice *msg
	if code != "" {
		title, errMsg = msg{"无法继续", "Cannot continue"}, &m
	} else {
		notice = &m
	}
	h.render(w, status, "message", pageData{Title: title, Code: code, Error: errMsg, Notice: notice,
		Body: messageView{Link: link, LinkText: text}})
}
