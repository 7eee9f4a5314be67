package listener_test

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// smtpConn is a minimal SMTP client: no pipelining, like smtp-source.
type smtpConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialSMTP(addr string) (*smtpConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	c := &smtpConn{c: nc, r: bufio.NewReader(nc), w: bufio.NewWriterSize(nc, 64<<10)}
	if err := c.expect(220); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.cmd(250, "EHLO load.example"); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// send runs one mail transaction and returns the time from the end of
// DATA to the 250 reply.
func (c *smtpConn) send(from, to string, raw []byte) (time.Duration, error) {
	_ = c.c.SetDeadline(time.Now().Add(time.Minute))
	if err := c.cmd(250, "MAIL FROM:<"+from+">"); err != nil {
		return 0, err
	}
	if err := c.cmd(250, "RCPT TO:<"+to+">"); err != nil {
		return 0, err
	}
	if err := c.cmd(354, "DATA"); err != nil {
		return 0, err
	}
	c.w.Write(raw) // no line starts with a dot
	c.w.WriteString(".\r\n")
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := c.expect(250); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func (c *smtpConn) quit() {
	_ = c.cmd(221, "QUIT")
	c.c.Close()
}

func (c *smtpConn) cmd(code int, line string) error {
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.expect(code)
}

// expect reads a (multi-line) reply and checks its code.
func (c *smtpConn) expect(code int) error {
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if len(l) < 4 {
			return fmt.Errorf("short reply %q", l)
		}
		if l[3] == '-' {
			continue
		}
		if got, _ := strconv.Atoi(l[:3]); got != code {
			return fmt.Errorf("reply %q, want %d", strings.TrimSpace(l), code)
		}
		return nil
	}
}
