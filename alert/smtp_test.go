package alert

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink is a tiny in-process SMTP server: EHLO/HELO, AUTH PLAIN, MAIL FROM,
// RCPT TO, DATA, RSET, NOOP, QUIT. It keeps what it is sent.
type sink struct {
	l        net.Listener
	startTLS bool // advertise STARTTLS (without supporting it)

	mu    sync.Mutex
	auth  []string // "user:password"
	from  []string
	rcpt  []string
	mails [][]byte
	wg    sync.WaitGroup
}

func newSink(t *testing.T) *sink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{l: l}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { l.Close(); s.wg.Wait() })
	return s
}

func (s *sink) addr() string { return s.l.Addr().String() }

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if s.startTLS {
				say("250-sink")
				say("250-STARTTLS")
			} else {
				say("250-sink")
			}
			say("250 AUTH PLAIN")
		case "HELO", "RSET", "NOOP":
			say("250 ok")
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if mech != "PLAIN" || err != nil || len(parts) != 3 {
				say("535 bad auth")
				continue
			}
			s.mu.Lock()
			s.auth = append(s.auth, parts[1]+":"+parts[2])
			s.mu.Unlock()
			say("235 ok")
		case "MAIL":
			s.mu.Lock()
			s.from = append(s.from, arg)
			s.mu.Unlock()
			say("250 ok")
		case "RCPT":
			s.mu.Lock()
			s.rcpt = append(s.rcpt, arg)
			s.mu.Unlock()
			say("250 ok")
		case "DATA":
			say("354 end with .")
			var msg []byte
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg = append(msg, strings.TrimPrefix(l, ".")...)
			}
			s.mu.Lock()
			s.mails = append(s.mails, msg)
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

// readMail parses a message and returns its decoded subject and body.
func readMail(t *testing.T, raw []byte) (*mail.Message, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, raw)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg, subject, string(body)
}

func passwordFile(t *testing.T, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(p, []byte("pa55-w0rd-xyz\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSMTPSinkReceivesAlert(t *testing.T) {
	sk := newSink(t)
	clk := newClock()
	mailer := &SMTP{Addr: sk.addr(), From: "Bankguard <bankguard@bank.example>", To: []string{"soc@bank.example", "ops@bank.example"},
		Username: "bankguard", PasswordFile: passwordFile(t, 0o600), Now: clk.Now}
	m := newTest(t, clk, Options{Routes: []Route{{Name: "mail", Notifier: mailer, MinSeverity: Warning}}})
	m.Raise(context.Background(), Alert{
		Rule: "risk.large_amount", Severity: Critical, Subject: "app:demo-a1",
		Summary: "大额转账 500000.00 元 to 6222021234567890128", Detail: "payer phone 13812345678", TxnID: "TX9",
	})
	flush(t, m)

	sk.mu.Lock()
	defer sk.mu.Unlock()
	if len(sk.mails) != 1 {
		t.Fatalf("sink got %d mails", len(sk.mails))
	}
	if len(sk.auth) != 1 || sk.auth[0] != "bankguard:pa55-w0rd-xyz" {
		t.Errorf("auth = %v, want the password from the file", sk.auth)
	}
	if sk.from[0] != "FROM:<bankguard@bank.example>" || len(sk.rcpt) != 2 || sk.rcpt[1] != "TO:<ops@bank.example>" {
		t.Errorf("envelope from=%v rcpt=%v", sk.from, sk.rcpt)
	}
	msg, subject, body := readMail(t, sk.mails[0])
	if !strings.Contains(subject, "critical") || !strings.Contains(subject, "大额转账 500000.00 元") {
		t.Errorf("subject = %q", subject)
	}
	for _, want := range []string{"risk.large_amount", "app:demo-a1", "TX9", "Incident:"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	for _, leak := range []string{"pa55-w0rd-xyz", "6222021234567890128", "13812345678"} {
		if strings.Contains(string(sk.mails[0]), leak) || strings.Contains(body, leak) || strings.Contains(subject, leak) {
			t.Errorf("mail leaks %q", leak)
		}
	}
	if msg.Header.Get("X-Bankguard-Severity") != "critical" || msg.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers = %v", msg.Header)
	}
}

func TestSMTPRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool // the sink advertises STARTTLS (and fails it)
		cfg  func(*SMTP)
	}{
		{"the server offers no STARTTLS", false, func(s *SMTP) { s.StartTLS = true }},
		{"a password file readable by others", false, func(s *SMTP) {
			s.Username, s.PasswordFile = "bankguard", passwordFile(t, 0o644)
		}},
		{"no password file", false, func(s *SMTP) {
			s.Username, s.PasswordFile = "bankguard", filepath.Join(t.TempDir(), "missing")
		}},
		{"STARTTLS fails", true, func(s *SMTP) { s.StartTLS = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sk := newSink(t)
			sk.startTLS = tc.tls
			s := &SMTP{Addr: sk.addr(), From: "bankguard@bank.example", To: []string{"soc@bank.example"}, Timeout: 10 * time.Second}
			tc.cfg(s)
			n := alertNotification(Record{ID: "ALR-1", Rule: "r", Severity: Critical, Subject: "app:a", Summary: "s"}, time.Now())
			if err := s.Notify(context.Background(), n); err == nil {
				t.Fatal("mail sent")
			}
			sk.mu.Lock()
			defer sk.mu.Unlock()
			if len(sk.mails) != 0 || len(sk.from) != 0 || len(sk.auth) != 0 {
				t.Errorf("sink saw mail=%d from=%v auth=%v", len(sk.mails), sk.from, sk.auth)
			}
		})
	}
}
