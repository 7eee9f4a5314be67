package intake_test

import (
	"context"
	"testing"

	"github.com/postdesk/postdesk/intake"
	"github.com/postdesk/postdesk/intake/intaketest"
	"github.com/postdesk/postdesk/intake/listener"
	"github.com/postdesk/postdesk/ticket"
)

// rig is the intake rig; intake's tests add their own steps to it.
type rig struct{ *intaketest.Rig }

func newRig(t *testing.T, store *ticket.Store, mod func(*intake.Options, *listener.Config)) *rig {
	t.Helper()
	return &rig{intaketest.New(t, store, mod)}
}

func (r *rig) events(number string) []ticket.Event {
	r.T.Helper()
	h, err := r.Org.Store.History(context.Background(), r.Ticket(number).ID)
	if err != nil {
		r.T.Fatal(err)
	}
	var out []ticket.Event
	for _, e := range h {
		if e.Event != nil {
			out = append(out, *e.Event)
		}
	}
	return out
}

// open sends Jane's outage mail and returns the new ticket's number.
func (r *rig) open() (string, string) {
	r.T.Helper()
	raw := intaketest.Mail("Jane Doe <jane@user.com>", "outage@bank.example", "entire mobile online banking is down",
		"customers are reporting a 404 error when browsing to online banking")
	r.MustSend("jane@user.com", []string{"outage@bank.example"}, raw)
	in := r.Inbound(intaketest.MessageID(raw))
	if in.Outcome != "new_ticket" || in.Number == "" {
		r.T.Fatalf("jane's mail: outcome %s (%s)", in.Outcome, in.Reason)
	}
	return in.Number, intaketest.MessageID(raw)
}
