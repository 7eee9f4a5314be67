// Package tickettest sets up the scenario's organisation on a fresh test
// database for the tests of every package.
package tickettest

import (
	"context"
	"testing"

	"github.com/postdesk/postdesk/migrations/dbtest"
	"github.com/postdesk/postdesk/ticket"
)

// ScenarioOrg is the organisation of the four-stage scenario: the same as
// examples/postdesk.yaml.
func ScenarioOrg() ticket.Org {
	return ticket.Org{
		Departments: []ticket.DepartmentSpec{
			{Name: "Help Desk", Email: "helpdesk@bank.example"},
			{Name: "System Administrators", Email: "sysadmins@bank.example"},
		},
		Agents: []ticket.AgentSpec{
			{Name: "Ken Jay", Email: "ken.jay@bank.example", Username: "ken", Active: true, Departments: []string{"Help Desk"}},
			{Name: "Mary Major", Email: "mary@bank.example", Username: "mary", Active: true, Departments: []string{"System Administrators"}},
		},
		HelpTopics: []ticket.HelpTopicSpec{
			{Name: "Business critical outage", Department: "Help Desk", Priority: ticket.PriorityEmergency},
		},
		Mailboxes: []ticket.MailboxSpec{
			{Name: "support", Address: "support@bank.example", DisplayName: "Bank Support", Kind: "smtp",
				Department: "Help Desk", Priority: ticket.PriorityNormal},
			{Name: "outage", Address: "outage@bank.example", DisplayName: "Bank Outage Desk", Kind: "smtp",
				HelpTopic: "Business critical outage", Department: "Help Desk", Priority: ticket.PriorityEmergency},
		},
	}
}

// Org is the scenario's organisation as stored.
type Org struct {
	Store   *ticket.Store
	Ken     ticket.Agent
	Mary    ticket.Agent
	Help    ticket.Department
	SysAdm  ticket.Department
	Support ticket.Mailbox
	Outage  ticket.Mailbox
}

// New makes a fresh database with the scenario's organisation and a store
// over it with the given notifier (nil for none).
func New(t testing.TB, n ticket.Notifier) *Org {
	t.Helper()
	return Sync(t, ticket.NewStore(dbtest.Pool(t), ticket.DefaultNumbering(), n))
}

// Sync stores the scenario's organisation through store and loads it back.
func Sync(t testing.TB, store *ticket.Store) *Org {
	t.Helper()
	ctx := context.Background()
	if err := store.SyncOrg(ctx, ScenarioOrg()); err != nil {
		t.Fatalf("tickettest: sync org: %v", err)
	}
	o := &Org{Store: store}
	pool := store.Pool()
	must := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatalf("tickettest: %v", err)
		}
	}
	var err error
	o.Ken, err = ticket.FindAgent(ctx, pool, "ken")
	must(err)
	o.Mary, err = ticket.FindAgent(ctx, pool, "mary")
	must(err)
	o.Help, err = ticket.FindDepartment(ctx, pool, "Help Desk")
	must(err)
	o.SysAdm, err = ticket.FindDepartment(ctx, pool, "System Administrators")
	must(err)
	o.Support, err = ticket.FindMailbox(ctx, pool, "support")
	must(err)
	o.Outage, err = ticket.FindMailbox(ctx, pool, "outage")
	must(err)
	return o
}
