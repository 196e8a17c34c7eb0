package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServerRefusesToStartWithoutTLS(t *testing.T) {
	s := &Server{Gateway: http.NotFoundHandler(), GatewayAddr: "127.0.0.1:0"}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("Run without TLS = %v", err)
	}
}

func TestPlaintextIsAnnounced(t *testing.T) {
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	s := &Server{
		Gateway:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }),
		GatewayAddr: "127.0.0.1:0",
		Plaintext:   true,
		Logger:      slog.New(slog.NewTextHandler(logs, nil)),
		Ready:       func(g, _ net.Addr) { ready <- g },
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	addr := <-ready
	resp, err := http.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "PLAINTEXT LISTENER") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("no loud warning: %s", logs.String())
	}
}
