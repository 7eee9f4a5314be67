package poller

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Implicit TLS and STARTTLS carry the login; a certificate the mailbox does
// not trust stops the mailbox with an error that says so.
func TestTLSModes(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, c := range []struct {
		name     string
		mode     string
		implicit bool
	}{{"implicit", TLSImplicit, true}, {"starttls", TLSStartTLS, false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := newTestDB(t)
			log, _ := testLog(t)
			srv := startMem(t, memOptions{caps: capsRev2, tls: serverTLS, implicit: c.implicit})
			good := srv.box("imap-help")
			good.ID, good.TLS, good.TLSConfig = db.ids["imap-help"], c.mode, clientTLS
			untrusted := srv.box("imap-other")
			untrusted.ID, untrusted.TLS = db.ids["imap-other"], c.mode // system roots only
			r := start(t, db.pool, processor(t, db.pool, log), log, good, untrusted)

			pr := dialTLSPeer(t, srv, c.implicit, clientTLS)
			for i := 1; i <= 2; i++ {
				pr.appendMail("INBOX", mailNo(c.name, i))
			}
			eventually(t, 10*time.Second, "both mails are tickets", func() bool {
				return db.tickets(t, "imap-help") == 2
			})
			eventually(t, 5*time.Second, "the untrusted server is refused", func() bool {
				return strings.Contains(r.status("imap-other").LastError, "certificate")
			})
			if got := db.tickets(t, "imap-other"); got != 0 {
				t.Errorf("the untrusted server gave %d tickets", got)
			}
		})
	}
}

// XOAUTH2 logs in with the token the command or file gives, read again on
// every connect; a bad token or a failing command is an error in the
// mailbox's status and the log, and no token is ever logged.
func TestXOAUTH2(t *testing.T) {
	t.Parallel()
	const token = "ya29.tok-Valid-0123"
	db := newTestDB(t)
	log, logs := testLog(t)
	srv := startMem(t, memOptions{caps: capsRev1, token: token, folders: []string{"Stale"}})
	pr := srv.peer(t) // LOGIN still works for the test's own client
	for i := 1; i <= 2; i++ {
		pr.appendMail("INBOX", mailNo("oauth", i))
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("ya29.tok-Expired-999\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	good := srv.box("imap-help")
	// ID 0: the poller finds the mailbox by name.
	good.Auth, good.Password, good.TokenCommand = AuthXOAUTH2, "", "printf '%s\\n' "+token
	stale := srv.box("imap-other")
	stale.ID, stale.Folder, stale.Auth, stale.Password, stale.TokenFile = db.ids["imap-other"], "Stale", AuthXOAUTH2, "", file
	broken := srv.box("imap-third")
	broken.ID, broken.Auth, broken.Password = db.ids["imap-third"], AuthXOAUTH2, ""
	broken.TokenCommand = "echo 'refresh token revoked' >&2; exit 3"

	r := start(t, db.pool, processor(t, db.pool, log), log, good, stale, broken)
	eventually(t, 10*time.Second, "the mails are tickets", func() bool {
		return db.tickets(t, "imap-help") == 2
	})
	eventually(t, 5*time.Second, "the stale token is refused", func() bool {
		return strings.Contains(r.status("imap-other").LastError, "XOAUTH2")
	})
	// The status says how the command ended; what it wrote is in the log only.
	eventually(t, 5*time.Second, "the failing token command is reported", func() bool {
		return r.status("imap-third").LastError == "OAuth token helper failed (exit status 3)" &&
			r.status("imap-third").TokenFailures > 0
	})
	if !strings.Contains(logs.String(), `level=ERROR msg="cannot get an OAuth access token for the mailbox" mailbox=imap-third`) ||
		!strings.Contains(logs.String(), "refresh token revoked") {
		t.Error("the token command's failure is not logged at error level with the mailbox name and what it wrote")
	}

	// The file is read again on the next connect: a refreshed token works.
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the refreshed token is used", func() bool {
		return r.status("imap-other").Active && r.status("imap-other").LastError == "" &&
			!r.status("imap-other").LastPoll.IsZero()
	})
	r.stop()
	for _, secret := range []string{"tok-Valid", "tok-Expired", imapPass} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a credential (%s...)", secret[:5])
		}
	}
}

// dialTLSPeer is the test's own mail client over TLS.
func dialTLSPeer(t *testing.T, srv *testServer, implicit bool, cfg *tls.Config) *peer {
	t.Helper()
	opts := &imapclient.Options{TLSConfig: cfg}
	var c *imapclient.Client
	var err error
	if implicit {
		c, err = imapclient.DialTLS(srv.addr(), opts)
	} else {
		c, err = imapclient.DialStartTLS(srv.addr(), opts)
	}
	if err != nil {
		t.Fatalf("peer: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(srv.user, srv.pass).Wait(); err != nil {
		t.Fatalf("peer login: %v", err)
	}
	return &peer{t: t, c: c}
}
