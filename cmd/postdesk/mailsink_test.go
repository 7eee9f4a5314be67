package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// mailWorld is the outside world of the scenario: an SMTP relay that
// delivers what postdesk sends into people's IMAP mailboxes, where their
// mail clients read it.
type mailWorld struct {
	t        *testing.T
	relay    *smtp.Server
	relayAt  string
	imapAt   string
	imapSrv  *imapserver.Server
	mu       sync.Mutex
	received int
}

const mailPassword = "pw"

// newMailWorld starts an IMAP server with a mailbox for each address and a
// relay that APPENDs every accepted mail to its recipients' INBOX.
func newMailWorld(t *testing.T, addresses ...string) *mailWorld {
	t.Helper()
	mem := imapmemserver.New()
	for _, a := range addresses {
		u := imapmemserver.NewUser(a, mailPassword)
		if err := u.Create("INBOX", nil); err != nil {
			t.Fatal(err)
		}
		mem.AddUser(u)
	}
	w := &mailWorld{t: t}
	w.imapSrv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		InsecureAuth: true,
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
	})
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.imapAt = iln.Addr().String()
	go w.imapSrv.Serve(iln) //nolint:errcheck

	w.relay = smtp.NewServer(relayBackend{w})
	w.relay.Domain = "relay.test"
	w.relay.ReadTimeout, w.relay.WriteTimeout = 10*time.Second, 10*time.Second
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.relayAt = sln.Addr().String()
	go w.relay.Serve(sln) //nolint:errcheck
	t.Cleanup(func() {
		w.relay.Close()
		w.imapSrv.Close()
	})
	return w
}

type relayBackend struct{ w *mailWorld }

func (b relayBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{w: b.w}, nil }

type relaySession struct {
	w     *mailWorld
	rcpts []string
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, strings.ToLower(to))
	return nil
}
func (s *relaySession) Reset()        { s.rcpts = nil }
func (s *relaySession) Logout() error { return nil }

// Data appends the mail to each recipient's INBOX over IMAP.
func (s *relaySession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, rcpt := range s.rcpts {
		if err := s.w.append(rcpt, raw); err != nil {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: err.Error()}
		}
	}
	s.w.mu.Lock()
	s.w.received++
	s.w.mu.Unlock()
	return nil
}

func (w *mailWorld) dial(user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(w.imapAt, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, mailPassword).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	return c, nil
}

func (w *mailWorld) append(user string, raw []byte) error {
	c, err := w.dial(user)
	if err != nil {
		return err
	}
	defer c.Close()
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err = cmd.Wait()
	return err
}

// inbox is what user's mail client shows: every message in INBOX, oldest first.
func (w *mailWorld) inbox(user string) [][]byte {
	w.t.Helper()
	c, err := w.dial(user)
	if err != nil {
		w.t.Fatal(err)
	}
	defer c.Close()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		w.t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSetNum(seqRange(sel.NumMessages)...),
		&imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		w.t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		if len(m.BodySection) == 1 {
			out = append(out, m.BodySection[0].Bytes)
		}
	}
	return out
}

func seqRange(n uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i + 1)
	}
	return out
}

// waitFor waits until user has more than have messages and returns the new ones.
func (w *mailWorld) waitFor(user string, have int, within time.Duration) [][]byte {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		box := w.inbox(user)
		if len(box) > have {
			return box[have:]
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s received nothing new within %s (has %d)", user, within, len(box))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// header returns the unfolded value of a header field of raw.
func header(raw []byte, name string) string {
	head, _, _ := bytes.Cut(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	var val []string
	in := false
	for _, line := range strings.Split(string(head), "\n") {
		switch {
		case len(line) > 0 && (line[0] == ' ' || line[0] == '\t'):
			if in {
				val = append(val, strings.TrimSpace(line))
			}
		case strings.HasPrefix(strings.ToLower(line), strings.ToLower(name)+":"):
			if in {
				return strings.Join(val, " ")
			}
			in, val = true, []string{strings.TrimSpace(line[len(name)+1:])}
		default:
			if in {
				return strings.Join(val, " ")
			}
		}
	}
	return strings.Join(val, " ")
}

var errNoPort = errors.New("no free port")

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(errNoPort, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
