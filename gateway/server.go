package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server runs the gateway and admin listeners.
type Server struct {
	Gateway     http.Handler
	Admin       http.Handler // nil: no admin listener
	GatewayAddr string
	AdminAddr   string
	GatewayTLS  *tls.Config
	AdminTLS    *tls.Config
	// Plaintext serves the gateway without TLS. For local development only;
	// it is announced loudly.
	Plaintext bool

	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// DrainTimeout bounds a graceful shutdown (default 30 s).
	DrainTimeout time.Duration
	Logger       *slog.Logger
	// Ready is called once both listeners accept connections.
	Ready func(gateway, admin net.Addr)
}

// Run serves until ctx is cancelled, then drains requests in flight.
func (s *Server) Run(ctx context.Context) error {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.GatewayTLS == nil && !s.Plaintext || s.Admin != nil && s.AdminTLS == nil {
		return errors.New("gateway: a TLS configuration is required")
	}
	gl, err := net.Listen("tcp", s.GatewayAddr)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	gatewayTLS := s.GatewayTLS
	if s.Plaintext {
		gatewayTLS = nil
	}
	servers := []*http.Server{s.httpServer(s.Gateway, gatewayTLS)}
	listeners := []net.Listener{gl}
	var adminAddr net.Addr
	if s.Admin != nil {
		al, err := net.Listen("tcp", s.AdminAddr)
		if err != nil {
			gl.Close()
			return fmt.Errorf("gateway: admin: %w", err)
		}
		servers = append(servers, s.httpServer(s.Admin, s.AdminTLS))
		listeners = append(listeners, al)
		adminAddr = al.Addr()
	}
	if s.Plaintext {
		s.Logger.Error("PLAINTEXT LISTENER — requests and responses travel unencrypted; never use --dev-plaintext outside a developer's machine", "addr", gl.Addr().String())
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() {
			if srv.TLSConfig == nil {
				errc <- srv.Serve(listeners[i])
				return
			}
			errc <- srv.ServeTLS(listeners[i], "", "")
		}()
	}
	if s.Ready != nil {
		s.Ready(gl.Addr(), adminAddr)
	}
	select {
	case err := <-errc:
		for _, srv := range servers {
			srv.Close()
		}
		return fmt.Errorf("gateway: serve: %w", err)
	case <-ctx.Done():
	}
	drain := s.DrainTimeout
	if drain <= 0 {
		drain = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) httpServer(h http.Handler, cfg *tls.Config) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         cfg,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		// TLS handshake failures (old protocol versions, unknown CAs) are the
		// client's problem; they are logged at debug level, not as errors.
		ErrorLog: log.New(slogWriter{s.Logger}, "", 0),
	}
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug("http server", "msg", string(p))
	return len(p), nil
}
