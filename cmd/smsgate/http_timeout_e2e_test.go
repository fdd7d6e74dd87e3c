package main

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/smsgate/smsgate/config"
	"github.com/smsgate/smsgate/smpp/smsctest"
)

// TestSlowBodyCutOff: a client that sends a login body slowly (a slowloris
// on /v1/auth/login) is cut off by http.read_timeout instead of holding
// the connection open.
func TestSlowBodyCutOff(t *testing.T) {
	g := startGateway(t, func(c *config.Config, _ *smsctest.Options) {
		c.HTTP.ReadTimeout = config.Duration(500 * time.Millisecond)
	})
	conn, err := net.DialTimeout("tcp", g.httpAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /v1/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"email\":"); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(conn) // whatever the server answers, it must then close
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the slow request held the connection for %v (read_timeout 500ms)", took)
	}
}
