package templates

import (
	"strings"
	"time"
)

// Data is what every notice template sees. Fields that a notice does not use
// are zero; see the package documentation for which ones each notice fills.
type Data struct {
	Org       Org       `json:",omitzero"`
	Ticket    Ticket    `json:",omitzero"`
	Customer  Person    `json:",omitzero"`
	Message   *Message  `json:",omitzero"` // the message that caused the notice; nil when none
	Note      string    `json:",omitzero"` // the internal note that came with a transfer
	Recipient Recipient `json:",omitzero"` // who this copy of the notice goes to
	Actor     Person    `json:",omitzero"` // who made the change
	Previous  string    `json:",omitzero"` // the value before the change: old department, old assignee
	Changes   []Change  `json:",omitzero"` // every field the transaction changed, for agent notices
	Error     string    `json:",omitzero"` // agent_command_error, agent_unauthenticated: what went wrong
	Original  Original  `json:",omitzero"` // agent_command_error, agent_unauthenticated: the agent's mail
	Link      string    `json:",omitzero"` // agent_sign_in_link: the one-time sign-in URL
}

// Org is the organisation running the help desk.
type Org struct {
	Name string `json:",omitzero"`
}

// Ticket is the ticket as it stands after the change.
type Ticket struct {
	Number     string    `json:",omitzero"`
	Token      string    `json:",omitzero"` // the subject token, e.g. "[#123456]"
	Subject    string    `json:",omitzero"`
	Status     string    `json:",omitzero"`
	Priority   string    `json:",omitzero"`
	Department string    `json:",omitzero"`
	Assignee   string    `json:",omitzero"` // name; empty when unassigned
	HelpTopic  string    `json:",omitzero"` // empty when none
	Created    time.Time `json:",omitzero"`
	URL        string    `json:",omitzero"` // link to the ticket; empty when no web URL is configured
}

// Person is a customer, collaborator, agent or postdesk itself.
type Person struct {
	Name  string `json:",omitzero"`
	Email string `json:",omitzero"`
}

// Display is the person as a mail client shows them: "Name <email>", or
// whichever of the two is known.
func (p Person) Display() string {
	switch {
	case p.Name != "" && p.Email != "":
		return p.Name + " <" + p.Email + ">"
	case p.Name != "":
		return p.Name
	}
	return p.Email
}

// Message is a ticket message shown in a notice.
type Message struct {
	Author      string    `json:",omitzero"` // name, or address when the name is unknown
	AuthorEmail string    `json:",omitzero"`
	Text        string    `json:",omitzero"` // the text the author wrote, quoted history removed
	Attachments []string  `json:",omitzero"` // file names
	Date        time.Time `json:",omitzero"`
	Internal    bool      `json:",omitzero"` // an internal note: never shown to customers
}

// Recipient is who one copy of a notice is addressed to.
type Recipient struct {
	Name    string `json:",omitzero"`
	Email   string `json:",omitzero"`
	IsAgent bool   `json:",omitzero"`
}

// Change is one field a transaction changed, e.g. {"Department", "Help Desk",
// "System Administrators"}.
type Change struct {
	Field string `json:",omitzero"`
	Old   string `json:",omitzero"`
	New   string `json:",omitzero"`
}

// String prints the change as "Field: old → new".
func (c Change) String() string {
	old, nw := c.Old, c.New
	if old == "" {
		old = "none"
	}
	if nw == "" {
		nw = "none"
	}
	return c.Field + ": " + old + " → " + nw
}

// Original describes the agent mail an error notice answers.
type Original struct {
	Subject string    `json:",omitzero"`
	Date    time.Time `json:",omitzero"`
}

// Sample returns complete example data for notice name, as the start-up
// check and the golden tests use it: every field set, a message with
// attachments, addressed to the customer for customer notices and to an
// agent for agent notices.
func Sample(name string) Data {
	created := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	d := Data{
		Org: Org{Name: "Bank Example Support"},
		Ticket: Ticket{
			Number: "123456", Token: "[#123456]", Subject: "entire mobile online banking is down",
			Status: "open", Priority: "emergency", Department: "System Administrators",
			Assignee: "Mary Major", HelpTopic: "Business critical outage", Created: created,
			URL: "https://support.bank.example/tickets/123456",
		},
		Customer: Person{Name: "Jane Doe", Email: "jane@user.com"},
		Message: &Message{
			Author: "Jane Doe", AuthorEmail: "jane@user.com",
			Text:        "customers are reporting a 404 error when browsing to online banking\n\nJane",
			Attachments: []string{"screenshot.png", "error log.txt"},
			Date:        created.Add(time.Minute),
		},
		Note:      "coordinating with sys admin team to address critical system outage",
		Recipient: Recipient{Name: "Mary Major", Email: "mary@bank.example", IsAgent: true},
		Actor:     Person{Name: "Ken Jay", Email: "ken.jay@bank.example"},
		Previous:  "Help Desk",
		Changes: []Change{
			{Field: "Department", Old: "Help Desk", New: "System Administrators"},
			{Field: "Assignee", Old: "", New: "Mary Major"},
		},
		Error:    `#transfer: no department named "Sysadmins" (departments: Help Desk, System Administrators)`,
		Original: Original{Subject: "Re: [#123456] entire mobile online banking is down", Date: created.Add(time.Hour)},
	}
	switch name {
	case CustomerResolved, AgentResolved:
		d.Ticket.Status = "resolved"
	case CustomerClosed:
		d.Ticket.Status = "closed"
	case AgentSignInLink:
		d.Ticket, d.Customer, d.Message, d.Changes, d.Original, d.Error = Ticket{}, Person{}, nil, nil, Original{}, ""
		d.Actor = Person{Name: "postdesk"}
		d.Link = "https://support.bank.example/signin/link/q7yKq1pD3m0rPZfE2c9GvL8xWbT4nA6sJ0uHiOeR5kM"
	}
	if IsCustomerNotice(name) {
		d.Recipient = Recipient{Name: "Jane Doe", Email: "jane@user.com"}
	}
	return d
}

// sparse is Sample with every optional field empty, so that the start-up
// check also walks the {{else}} branches of a template.
func sparse(name string) Data {
	d := Sample(name)
	d.Ticket.Assignee, d.Ticket.HelpTopic, d.Ticket.URL = "", "", ""
	d.Customer.Name = ""
	d.Recipient = Recipient{Email: "someone@user.example", IsAgent: strings.HasPrefix(name, "agent_")}
	d.Actor = Person{Name: "postdesk"}
	d.Note, d.Previous, d.Changes = "", "", nil
	if d.Message != nil {
		d.Message.Attachments = nil
		d.Message.Author = d.Message.AuthorEmail
	}
	if !MessageAlwaysSet(name) {
		d.Message = nil
	}
	return d
}

// MessageAlwaysSet reports whether notice name always carries a message, so
// that its templates may use .Message without {{if}}. Callers that render
// these notices must set Data.Message.
func MessageAlwaysSet(name string) bool {
	switch name {
	case CustomerAck, CustomerReply, AgentNewTicket, AgentNewMessage, AgentNote:
		return true
	}
	return false
}
