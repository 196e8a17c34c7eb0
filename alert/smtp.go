package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/bankguard/bankguard/pii"
	"github.com/bankguard/bankguard/secret"
)

// DefaultSMTPTimeout bounds one SMTP conversation.
const DefaultSMTPTimeout = 30 * time.Second

// SMTP is the notifier that e-mails notifications (active notification:
// T/PCAC 0008-2020 6.1.2-3, 6.5). The password is read from PasswordFile at
// each delivery (so it can be rotated), never from the configuration, and the
// file must not be readable by group or others. With StartTLS the server must
// offer STARTTLS or nothing is sent; the password is sent only over TLS or to
// a server on the loopback interface (net/smtp's PlainAuth).
type SMTP struct {
	// Addr is the submission server, host:port.
	Addr string
	From string
	To   []string
	// Username, if set, authenticates with AUTH PLAIN and the password in
	// PasswordFile.
	Username     string
	PasswordFile string
	StartTLS     bool
	// TLSConfig is used for STARTTLS (nil: the server name of Addr, TLS 1.2
	// or later).
	TLSConfig *tls.Config
	// LocalName is the name given in EHLO ("localhost" unless set).
	LocalName string
	// Timeout bounds each delivery (DefaultSMTPTimeout unless set).
	Timeout time.Duration
	// Now is the clock of the Date header (nil: time.Now).
	Now func() time.Time
}

// Notify implements Notifier.
func (s *SMTP) Notify(ctx context.Context, n Notification) error {
	msg, err := s.message(n)
	if err != nil {
		return err
	}
	return s.send(ctx, msg)
}

// message renders a notification as a plain-text, quoted-printable e-mail.
// The subject and body are masked again (pii.MaskText), and no header takes
// a line break from the notification.
func (s *SMTP) message(n Notification) ([]byte, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	domain := "bankguard.invalid"
	if a, err := mail.ParseAddress(s.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			domain = d
		}
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", s.From)
	hdr("To", strings.Join(s.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", clean(n.Title, 250)))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+clean(n.ID, 100)+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Bankguard-Severity", string(n.Severity))
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := pii.MaskText(n.Text) + "\n--\nSent by bankguard. Notification " + n.ID + ".\n"
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, fmt.Errorf("alert: smtp: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("alert: smtp: %w", err)
	}
	return b.Bytes(), nil
}

// send speaks SMTP with the server: EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT.
func (s *SMTP) send(ctx context.Context, msg []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("alert: smtp: addr must be host:port")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("alert: smtp: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("alert: smtp: %w", err)
	}
	defer c.Close()
	if err := s.converse(c, host, msg); err != nil {
		return fmt.Errorf("alert: smtp: %w", err)
	}
	return nil
}

func (s *SMTP) converse(c *smtp.Client, host string, msg []byte) error {
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return err
	}
	if s.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS")
		}
		cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if s.TLSConfig != nil {
			cfg = s.TLSConfig.Clone()
		}
		if err := c.StartTLS(cfg); err != nil {
			return err
		}
	}
	if s.Username != "" {
		pw, err := secret.ReadPrivateFile(s.PasswordFile)
		if err != nil {
			return err
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, strings.TrimRight(string(pw), "\r\n"), host)); err != nil {
			return err
		}
	}
	if err := c.Mail(envelope(s.From)); err != nil {
		return err
	}
	for _, to := range s.To {
		if err := c.Rcpt(envelope(to)); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// envelope returns the bare address of "Name <addr>" for MAIL FROM and RCPT TO.
func envelope(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

var _ Notifier = (*SMTP)(nil)
