package smtp_test

import (
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// The patches postdesk carries (see README.md).

func TestPostdeskSizeOfAnyLength(t *testing.T) {
	_, s, c, scanner, _ := testServerEhlo(t, func(s *smtp.Server) { s.MaxMessageBytes = 1000 })
	defer s.Close()
	defer c.Close()
	for _, size := range []string{"1001", "4294967296", "18446744073709551617", "123456789012345678901234567890"} {
		io.WriteString(c, "MAIL FROM:<root@nsa.gov> SIZE="+size+"\r\n")
		scanner.Scan()
		if !strings.HasPrefix(scanner.Text(), "552 5.3.4 ") {
			t.Fatalf("SIZE=%s: %s", size, scanner.Text())
		}
	}
	io.WriteString(c, "MAIL FROM:<root@nsa.gov> SIZE=1000\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "250 ") {
		t.Fatalf("SIZE at the limit: %s", scanner.Text())
	}
}

func TestPostdeskPostmasterWithoutDomain(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	defer c.Close()
	io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\n")
	scanner.Scan()
	io.WriteString(c, "RCPT TO:<Postmaster>\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "250 ") {
		t.Fatalf("RCPT TO:<Postmaster>: %s", scanner.Text())
	}
	io.WriteString(c, "RCPT TO:<postmaster> NOTIFY=NEVER\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "504 ") { // parameters are still read
		t.Fatalf("RCPT TO:<postmaster> NOTIFY=NEVER: %s", scanner.Text())
	}
	io.WriteString(c, "RCPT TO:<nobody>\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "501 ") {
		t.Fatalf("RCPT TO:<nobody>: %s", scanner.Text())
	}
	io.WriteString(c, "DATA\r\nSubject: hi\r\n\r\nhello\r\n.\r\n")
	scanner.Scan()
	scanner.Scan()
	if len(be.messages) != 1 || len(be.messages[0].To) != 1 || be.messages[0].To[0] != "Postmaster" {
		t.Fatalf("messages %+v", be.messages)
	}
}

func TestPostdeskLongDataLines(t *testing.T) {
	be, s, c, scanner, _ := testServerEhlo(t, func(s *smtp.Server) { s.MaxMessageBytes = 1 << 20 })
	defer s.Close()
	defer c.Close()
	body := "Subject: long\r\n\r\n" + strings.Repeat("a", 3*s.MaxLineLength) + "\r\n" + strings.Repeat("b", 100000) + "\r\n"
	io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\nRCPT TO:<root@gchq.gov.uk>\r\nDATA\r\n")
	for i := 0; i < 3; i++ {
		scanner.Scan()
	}
	io.WriteString(c, body+".\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "250 ") {
		t.Fatalf("DATA with long lines: %s", scanner.Text())
	}
	if len(be.anonmsgs) != 1 || string(be.anonmsgs[0].Data) != body {
		t.Fatal("message not kept as sent")
	}
	// Commands are still limited.
	io.WriteString(c, "MAIL FROM:<"+strings.Repeat("a", s.MaxLineLength)+">\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "500 5.4.0 ") {
		t.Fatal("Invalid too long MAIL response:", scanner.Text())
	}
}
