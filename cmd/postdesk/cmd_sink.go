package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/postdesk/postdesk/intake/parse"
)

var mimeQ = mime.QEncoding

// cmdSink is a development SMTP server that accepts every mail, writes it to
// a directory and prints who it is for: the outbound sink of the
// walkthrough when there is no Mailpit.
func cmdSink(ctx context.Context, a *app, args []string) int {
	fs := a.flags("sink", "", "Accept every mail over SMTP, save it as DIR/NNNN.eml and print one line about it.\n"+
		"For trying postdesk out: point relay.host/port at it. Stop it with Ctrl-C.")
	listen := fs.String("listen", "127.0.0.1:1025", "listen `address`")
	dir := fs.String("dir", "outbox", "`directory` to save the mails in")
	if !a.parse(fs, args) {
		return 2
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return a.fail("%v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return a.fail("%v", err)
	}
	b := &sinkBackend{dir: *dir, out: a.stdout}
	s := smtp.NewServer(b)
	s.Domain, s.ReadTimeout, s.WriteTimeout = "sink.localhost", time.Minute, time.Minute
	s.MaxMessageBytes = 50 << 20
	fmt.Fprintf(a.stdout, "sink listening on %s, saving to %s\n", ln.Addr(), *dir)
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	if err := s.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && ctx.Err() == nil {
		return a.fail("%v", err)
	}
	return 0
}

type sinkBackend struct {
	dir string
	out io.Writer
	n   atomic.Int64
	mu  sync.Mutex
}

func (b *sinkBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{b: b}, nil }

type sinkSession struct {
	b     *sinkBackend
	rcpts []string
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *sinkSession) Reset()        { s.rcpts = nil }
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	n := s.b.n.Add(1)
	path := filepath.Join(s.b.dir, fmt.Sprintf("%04d.eml", n))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return err
	}
	subject, replyTo, id := "", "", ""
	if m, err := parse.Parse(raw); err == nil {
		subject, id = m.Subject, m.MessageID
		if len(m.ReplyTo) > 0 {
			replyTo = m.ReplyTo[0].Address
		}
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	fmt.Fprintf(s.b.out, "%s  to %s: %s\n", path, strings.Join(s.rcpts, ", "), subject)
	fmt.Fprintf(s.b.out, "      Message-ID: %s\n", id)
	if replyTo != "" {
		fmt.Fprintf(s.b.out, "      Reply-To: %s\n", replyTo)
	}
	return nil
}
