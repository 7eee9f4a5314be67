package poller

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// Capability sets of the in-memory server.
var (
	capsRev2    = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}} // MOVE, UIDPLUS, IDLE
	capsUIDPlus = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}   // UIDPLUS, no MOVE
	capsRev1    = imap.CapSet{imap.CapIMAP4rev1: {}}                        // neither
)

const (
	imapUser = "support"
	imapPass = "pw-Zq7-never-logged"
)

// testServer is an IMAP server on a loopback port with one user.
type testServer struct {
	host       string
	port       int
	user, pass string
}

type memOptions struct {
	caps     imap.CapSet
	tls      *tls.Config // STARTTLS when set
	implicit bool        // and implicit TLS instead of STARTTLS
	token    string      // offer XOAUTH2 (and nothing else) accepting this token
	folders  []string
	rec      *imapRecorder // record who fetches and flags
}

// startMem serves go-imap's in-memory server.
func startMem(t *testing.T, o memOptions) *testServer {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(imapUser, imapPass)
	for _, f := range append([]string{"INBOX"}, o.folders...) {
		if err := user.Create(f, nil); err != nil {
			t.Fatal(err)
		}
	}
	mem.AddUser(user)
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if o.rec != nil {
				return &recordingSession{user: user, rec: o.rec}, nil, nil
			}
			sess := mem.NewSession()
			if o.token != "" {
				return &xoauthSession{Session: sess, token: o.token}, nil, nil
			}
			return sess, nil, nil
		},
		InsecureAuth: true,
		Caps:         o.caps,
		Logger:       log.New(io.Discard, "", 0),
	}
	if !o.implicit {
		opts.TLSConfig = o.tls
	}
	srv := imapserver.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit {
		ln = tls.NewListener(ln, o.tls)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return &testServer{host: host, port: p, user: imapUser, pass: imapPass}
}

// box is a poller Mailbox for this server.
func (s *testServer) box(name string) Mailbox {
	return Mailbox{Name: name, Address: name + "@bank.example", Host: s.host, Port: s.port, TLS: TLSNone,
		Username: s.user, Password: s.pass, PollInterval: 200 * time.Millisecond, IDLE: true}
}

func (s *testServer) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// peer logs in as the server's user.
func (s *testServer) peer(t *testing.T) *peer { return dialPeer(t, s.addr(), s.user, s.pass) }

// peer is a second IMAP client, a person's mail program.
type peer struct {
	t *testing.T
	c *imapclient.Client
}

func dialPeer(t *testing.T, addr, user, pass string) *peer {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatalf("peer: %v", err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("peer login: %v", err)
	}
	p := &peer{t: t, c: c}
	t.Cleanup(func() { c.Close() })
	return p
}

// appendMail stores a message in folder and returns its UID.
func (p *peer) appendMail(folder string, raw []byte, flags ...imap.Flag) uint32 {
	p.t.Helper()
	cmd := p.c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(raw); err != nil {
		p.t.Fatalf("append: %v", err)
	}
	if err := cmd.Close(); err != nil {
		p.t.Fatalf("append: %v", err)
	}
	data, err := cmd.Wait()
	if err != nil {
		p.t.Fatalf("append: %v", err)
	}
	return uint32(data.UID)
}

// message is what a mail program sees of one message.
type message struct {
	uid   uint32
	flags []string
	raw   []byte
}

// list reads a folder read-only (EXAMINE leaves \Seen alone).
func (p *peer) list(folder string) []message {
	p.t.Helper()
	if _, err := p.c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		p.t.Fatalf("examine %s: %v", folder, err)
	}
	bufs, err := p.c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		p.t.Fatalf("fetch %s: %v", folder, err)
	}
	var out []message
	for _, b := range bufs {
		m := message{uid: uint32(b.UID)}
		for _, f := range b.Flags {
			m.flags = append(m.flags, string(f))
		}
		for _, s := range b.BodySection {
			m.raw = s.Bytes
		}
		out = append(out, m)
	}
	if err := p.c.Unselect().Wait(); err != nil {
		p.t.Fatalf("unselect: %v", err)
	}
	return out
}

// uidValidity is a folder's UIDVALIDITY.
func (p *peer) uidValidity(folder string) uint32 {
	p.t.Helper()
	data, err := p.c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
	if err != nil {
		p.t.Fatalf("status: %v", err)
	}
	return data.UIDValidity
}

// countFlagged counts the messages of folder carrying flag.
func (p *peer) countFlagged(folder, flag string) (flagged, all int) {
	p.t.Helper()
	for _, m := range p.list(folder) {
		all++
		if hasFlag(m.flags, flag) {
			flagged++
		}
	}
	return flagged, all
}

// xoauthSession offers XOAUTH2 accepting one token, as Gmail does.
type xoauthSession struct {
	imapserver.Session
	token string
}

func (s *xoauthSession) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *xoauthSession) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "unsupported mechanism"}
	}
	return &xoauthServer{sess: s}, nil
}

type xoauthServer struct {
	sess   *xoauthSession
	failed bool
}

func (x *xoauthServer) Next(resp []byte) ([]byte, bool, error) {
	if x.failed {
		return nil, true, imapserver.ErrAuthFailed
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, f := range bytes.Split(resp, []byte{1}) {
		if v, ok := strings.CutPrefix(string(f), "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(string(f), "auth=Bearer "); ok {
			token = v
		}
	}
	if token != x.sess.token || user != imapUser {
		// Gmail's way: a JSON challenge, then NO after the empty answer.
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	if err := x.sess.Login(imapUser, imapPass); err != nil {
		return nil, true, err
	}
	return nil, true, nil
}

// selfSigned makes a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imap.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots}
}
