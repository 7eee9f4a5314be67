package listener

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Session limits, as Postfix sets them. A cap on concurrent sessions
// (Postfix's process limit) and a smaller one on the sessions of one client
// address (smtpd_client_connection_count_limit) are answered 421 4.7.0 at
// connect, so that a crowd from a few addresses leaves room for everyone
// else. Each wait for the client's bytes is bounded (the idle timeout,
// smtpd_timeout), and so is the whole session: a client that trickles a
// byte now and then holds its slot for a bounded time, not forever.

// gate is the listener's net.Listener: it admits a connection only within
// the caps, and hands go-smtp the admitted ones as sessionConns.
type gate struct {
	net.Listener
	l *Listener

	mu    sync.Mutex
	open  map[*sessionConn]struct{}
	perIP map[string]int
}

func newGate(ln net.Listener, l *Listener) *gate {
	return &gate{Listener: ln, l: l, open: map[*sessionConn]struct{}{}, perIP: map[string]int{}}
}

// Accept returns the next admitted connection; those over a cap are
// answered and closed here.
func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if sc := g.admit(c); sc != nil {
			return sc, nil
		}
	}
}

func (g *gate) admit(c net.Conn) *sessionConn {
	cfg := &g.l.cfg
	ip := clientIP(c.RemoteAddr())
	g.mu.Lock()
	var why string
	switch {
	case len(g.open) >= cfg.MaxSessions:
		why = "max_sessions"
	case ip != "" && g.perIP[ip] >= cfg.MaxSessionsPerIP:
		why = "max_sessions_per_ip"
	}
	var sc *sessionConn
	if why == "" {
		sc = &sessionConn{Conn: c, g: g, ip: ip, idle: cfg.ReadTimeout, end: time.Now().Add(cfg.SessionTimeout)}
		g.open[sc] = struct{}{}
		if ip != "" {
			g.perIP[ip]++
		}
	}
	g.l.cfg.Metrics.openSessions(g.l.kind(), len(g.open))
	g.mu.Unlock()
	if sc != nil {
		return sc
	}

	g.l.log.Warn("session refused: too many sessions", "remote", c.RemoteAddr().String(), "limit", why)
	g.l.cfg.Metrics.refused(g.l.kind(), why)
	text := "Too many sessions, please try again later"
	if why == "max_sessions_per_ip" {
		text = "Too many sessions from " + ip + ", please try again later"
	}
	// RFC 5321 §3.1: a server may answer 421 instead of the greeting. The
	// line fits the new connection's empty send buffer, so this does not
	// block; the deadline is for the odd case where it would.
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprintf(c, "421 4.7.0 %s %s\r\n", cfg.Hostname, text)
	_ = c.Close()
	return nil
}

func (g *gate) release(sc *sessionConn) {
	g.mu.Lock()
	delete(g.open, sc)
	if sc.ip != "" {
		if g.perIP[sc.ip]--; g.perIP[sc.ip] <= 0 {
			delete(g.perIP, sc.ip)
		}
	}
	g.l.cfg.Metrics.openSessions(g.l.kind(), len(g.open))
	g.mu.Unlock()
}

// sessions is the number of admitted connections still open.
func (g *gate) sessions() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.open)
}

// closeAll closes every admitted connection, greeted or not.
func (g *gate) closeAll() {
	g.mu.Lock()
	conns := make([]*sessionConn, 0, len(g.open))
	for sc := range g.open {
		conns = append(conns, sc)
	}
	g.mu.Unlock()
	for _, sc := range conns {
		_ = sc.Close()
	}
}

// clientIP is the address a per-client cap counts; "" (no cap) for a
// Unix socket, whose peers are all local.
func clientIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	return ""
}

// sessionConn is an admitted connection. Each read waits at most the idle
// timeout and never past the session's deadline; once a read has timed
// out, every later one fails at once, so that the session ends there
// rather than reading what the client trickles next as commands.
type sessionConn struct {
	net.Conn
	g    *gate
	ip   string
	idle time.Duration // 0: none
	end  time.Time

	mu      sync.Mutex
	expired string // "idle" or "session_timeout" once a read timed out
	hungUp  bool   // the session has been answered 421: reads see EOF

	closeOnce sync.Once
}

func (c *sessionConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	expired, hungUp := c.expired, c.hungUp
	c.mu.Unlock()
	switch {
	case hungUp:
		return 0, io.EOF
	case expired != "":
		return 0, os.ErrDeadlineExceeded
	}
	deadline := c.end
	if c.idle > 0 {
		if d := time.Now().Add(c.idle); d.Before(deadline) {
			deadline = d
		}
	}
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		why := "idle"
		if !time.Now().Before(c.end) {
			why = "session_timeout"
		}
		c.mu.Lock()
		c.expired = why
		c.mu.Unlock()
		c.g.l.log.Info("session timed out", "remote", c.RemoteAddr().String(), "reason", why)
		c.g.l.cfg.Metrics.timedOut(c.g.l.kind(), why)
	}
	return n, err
}

// timedOut says why the session's reads stopped: "idle",
// "session_timeout", or "" when they have not.
func (c *sessionConn) timedOut() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expired
}

// hangUp makes every later read see the end of the stream: the session
// has said 421, and go-smtp then closes it without another reply.
func (c *sessionConn) hangUp() {
	c.mu.Lock()
	c.hungUp = true
	c.mu.Unlock()
}

func (c *sessionConn) Close() error {
	c.closeOnce.Do(func() { c.g.release(c) })
	return c.Conn.Close()
}

// sessionConnOf finds the sessionConn under go-smtp's connection, which
// is a *tls.Conn over it after STARTTLS.
func sessionConnOf(c net.Conn) *sessionConn {
	for c != nil {
		if sc, ok := c.(*sessionConn); ok {
			return sc
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}
