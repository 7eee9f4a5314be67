package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// cmdSend hands a mail to an SMTP server, as a mail client or MTA would: a
// small tool for trying postdesk out and for the walkthrough.
func cmdSend(_ context.Context, a *app, args []string) int {
	fs := a.flags("send", "[FILE|-]", "Send a mail to an SMTP server (by default postdesk's own listener). Either give\n"+
		"a complete message in FILE (or - for standard input), or build a plain one with\n--subject and --body.")
	server := fs.String("server", "", "SMTP server `host:port` (default: listen.smtp of the configuration)")
	from := fs.String("from", "", "sender, e.g. \"Jane Doe <jane@user.com>\"")
	to := fs.String("to", "", "recipient `address`es, comma-separated")
	subject := fs.String("subject", "", "subject of a built message")
	body := fs.String("body", "", "text of a built message; \\n starts a new line")
	inReplyTo := fs.String("in-reply-to", "", "Message-ID the built message answers")
	if !a.parse(fs, args) {
		return 2
	}
	if *from == "" || *to == "" {
		return a.fail("send needs --from and --to")
	}
	sender, err := mail.ParseAddress(*from)
	if err != nil {
		return a.fail("--from %q: %v", *from, err)
	}
	var rcpts []string
	for _, r := range strings.Split(*to, ",") {
		addr, err := mail.ParseAddress(strings.TrimSpace(r))
		if err != nil {
			return a.fail("--to %q: %v", r, err)
		}
		rcpts = append(rcpts, addr.Address)
	}
	if *server == "" {
		if *server, err = listenerAddr(a); err != nil {
			return a.configOrFail(err)
		}
	}
	var raw []byte
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "-":
		raw, err = io.ReadAll(a.stdin())
	case fs.NArg() == 1:
		raw, err = os.ReadFile(fs.Arg(0))
	case fs.NArg() == 0:
		raw = buildMail(sender, *to, *subject, strings.ReplaceAll(*body, `\n`, "\n"), *inReplyTo)
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		return a.fail("%v", err)
	}
	c, err := smtp.Dial(*server)
	if err != nil {
		return a.fail("cannot reach %s: %v", *server, err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return a.fail("%s: %v", *server, err)
	}
	// As an MTA does, say the size first: a server can refuse a mail
	// too big, or one it has no room for now, before it is sent.
	if err := sendSized(c, sender.Address, rcpts, raw); err != nil {
		return a.fail("%s refused the mail: %v", *server, err)
	}
	_ = c.Quit()
	fmt.Fprintf(a.stdout, "sent %d bytes to %s for %s\n", len(raw), *server, strings.Join(rcpts, ", "))
	return 0
}

// listenerAddr is the address to reach the configured SMTP listener at: a
// listener on every interface (0.0.0.0:2525, :2525) is reached on loopback.
func listenerAddr(a *app) (string, error) {
	cfg, err := a.readConfig()
	if err != nil {
		return "", fmt.Errorf("no --server, and no configuration to take listen.smtp from: %w", err)
	}
	if cfg.Listen.SMTP == "" {
		return "", fmt.Errorf("%s has no listen.smtp: give the server with --server HOST:PORT", cfg.File)
	}
	host, port, err := net.SplitHostPort(cfg.Listen.SMTP)
	if err != nil {
		return "", fmt.Errorf("%s: listen.smtp %q: %w", cfg.File, cfg.Listen.SMTP, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}

func buildMail(from *mail.Address, to, subject, body, inReplyTo string) []byte {
	var b bytes.Buffer
	host := "localhost"
	if _, d, ok := strings.Cut(from.Address, "@"); ok {
		host = d
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.send@%s>\r\n",
		from.String(), to, mimeWord(subject), time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), host)
	if inReplyTo != "" {
		id := "<" + strings.Trim(inReplyTo, "<>") + ">"
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", id, id)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.TrimRight(body, "\n")+"\n", "\n", "\r\n"))
	return b.Bytes()
}

// mimeWord encodes a subject that is not plain ASCII.
func mimeWord(s string) string {
	for _, r := range s {
		if r > 126 {
			return mimeQ.Encode("utf-8", s)
		}
	}
	return s
}

// sendSized is smtp.Client.SendMail with the SIZE of the mail declared.
func sendSized(c *smtp.Client, from string, rcpts []string, raw []byte) error {
	if err := c.Mail(from, &smtp.MailOptions{Size: int64(len(raw))}); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
