package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/postdesk/postdesk/ticket"
)

// TestOnlyFailedDeliveriesFailANotice: a delivery report says what became
// of a notice; only "failed" means it did not arrive. A delay warning, a
// relay's "delivered" or "relayed" report and an SES delivery or
// complaint notification used to mark the notice failed, and put a
// delivery_failed event on the ticket for a mail that had arrived or was
// still on its way. They are kept, naming the action, and change nothing.
func TestOnlyFailedDeliveriesFailANotice(t *testing.T) {
	r := newRig(t, nil, nil)
	number, _ := r.open()
	ack := r.notice(number, "jane@user.com")
	report := func(id, action, status string) string {
		return strings.Join([]string{
			"From: Mail Delivery System <MAILER-DAEMON@mx.user.com>",
			"To: outage@bank.example",
			"Subject: Delivery Status Notification (" + action + ")",
			"Date: Fri, 27 Nov 2026 09:05:00 +0000",
			"Message-ID: <" + id + "@mx.user.com>",
			"MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=delivery-status; boundary="B"`,
			"",
			"--B",
			"Content-Type: text/plain",
			"",
			"This is a report on your message.",
			"--B",
			"Content-Type: message/delivery-status",
			"",
			"Reporting-MTA: dns; mx.user.com",
			"",
			"Final-Recipient: rfc822; jane@user.com",
			"Action: " + action,
			"Status: " + status,
			"",
			"--B",
			"Content-Type: text/rfc822-headers",
			"",
			"From: Bank Outage Desk <outage@bank.example>",
			"To: jane@user.com",
			"Subject: [#" + number + "] entire mobile online banking is down",
			"Message-ID: <" + ack + ">",
			"",
			"--B--",
			"",
		}, "\r\n")
	}
	state := func() string {
		var s string
		if err := r.Org.Store.Pool().QueryRow(context.Background(), `SELECT state FROM outbound_mails WHERE message_id = $1`, ack).
			Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, c := range []struct{ action, status string }{{"delayed", "4.4.7"}, {"delivered", "2.0.0"}, {"relayed", "2.0.0"}} {
		r.MustSend("", []string{"outage@bank.example"}, report("dsn-"+c.action, c.action, c.status))
		in := r.Inbound("dsn-" + c.action + "@mx.user.com")
		if in.Outcome != "ignored" || !strings.Contains(in.Reason, c.action) || !strings.Contains(in.Reason, "jane@user.com") {
			t.Errorf("%s report: %s (%s)", c.action, in.Outcome, in.Reason)
		}
		if s := state(); s != "sent" {
			t.Fatalf("after a %s report the notice is %s, want sent", c.action, s)
		}
	}
	for _, e := range r.events(number) {
		if e.Action == ticket.ActionDeliveryFailed {
			t.Errorf("a delivery_failed event for a notice that was not lost: %+v", e)
		}
	}
	// A failure still fails it.
	r.MustSend("", []string{"outage@bank.example"}, report("dsn-failed", "failed", "5.1.1"))
	if s := state(); s != "failed" {
		t.Errorf("after a failure report the notice is %s, want failed", s)
	}
}
