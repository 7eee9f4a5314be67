package listener_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
)

// failing is an inbound step that takes mail for support@ and fails every
// delivery with err.
type failing struct{ err error }

func (f failing) Accepts(addr string) bool { return addr == "support@bank.example" }

func (f failing) Deliver(context.Context, intake.Envelope, []byte) (intake.Result, error) {
	return intake.Result{}, f.err
}

// The listener alone decides the reply to a mail that was not committed:
// always a retry, never the error's own text.
func TestRepliesToFailuresAskForARetryAndLeakNothing(t *testing.T) {
	secret := "pq: connection to 10.0.0.7:5432 refused"
	for _, c := range []struct {
		name     string
		err      error
		enhanced smtp.EnhancedCode
	}{
		{"temporary", fmt.Errorf("%w: %s", intake.ErrTemporary, secret), smtp.EnhancedCode{4, 3, 0}},
		{"deadline", fmt.Errorf("%w: commit: %w", intake.ErrTemporary, context.DeadlineExceeded), smtp.EnhancedCode{4, 4, 5}},
		{"internal", errors.New(secret), smtp.EnhancedCode{4, 3, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			l := listener.New(failing{c.err}, listener.Config{Addr: "127.0.0.1:0", Logger: intaketest.QuietLogger(),
				ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, Metrics: listener.NewMetrics(reg)})
			if err := l.Listen(); err != nil {
				t.Fatal(err)
			}
			go l.Serve() //nolint:errcheck // returns when closed
			defer l.Close()
			err := intaketest.SendSMTP(l.Addr().String(), "client.example", "jane@user.com", []string{"support@bank.example"},
				intaketest.Mail("jane@user.com", "support@bank.example", "hello", "is anyone there?"))
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != c.enhanced {
				t.Fatalf("reply %v, want 451 %v", err, c.enhanced)
			}
			if strings.Contains(se.Message, "10.0.0.7") || strings.Contains(se.Message, "pq:") ||
				strings.Contains(se.Message, "deadline") {
				t.Fatalf("reply leaks internals: %q", se.Message)
			}
			if n := testutil.ToFloat64(listenerReplies(t, reg, "DATA", "451")); n != 1 {
				t.Fatalf("451 replies to DATA counted %v times, want 1", n)
			}
		})
	}
}

// listenerReplies is the counter of the replies to command with code.
func listenerReplies(t *testing.T, reg *prometheus.Registry, command, code string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "found"})
	for _, mf := range mfs {
		if mf.GetName() != "postdesk_smtp_replies_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["command"] == command && labels["code"] == code && labels["listener"] == "smtp" {
				c.Add(m.GetCounter().GetValue())
			}
		}
	}
	return c
}

// A commit that runs out of time is answered 451 4.4.5, through the real
// inbound step, and nothing is stored.
func TestDeliverDeadlineIs451Congested(t *testing.T) {
	r := intaketest.New(t, nil, func(_ *intake.Options, lc *listener.Config) { lc.DeliverTimeout = time.Nanosecond })
	err := r.Send("jane@user.com", []string{"support@bank.example"},
		intaketest.Mail("jane@user.com", "support@bank.example", "in a hurry", "is anyone there?"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 4, 5}) {
		t.Fatalf("reply %v, want 451 4.4.5", err)
	}
	if n := r.Count(`SELECT count(*) FROM inbound_mails`); n != 0 {
		t.Fatalf("%d mails stored after a timed-out commit", n)
	}
}
