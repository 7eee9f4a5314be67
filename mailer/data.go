package mailer

import (
	"strings"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
)

// data is what the templates see of a notice.
func (n *Notifier) data(nt *notice) templates.Data {
	d := templates.Data{
		Org:       templates.Org{Name: n.opts.OrgName},
		Recipient: templates.Recipient{Name: nt.to.Name, Email: nt.to.Email, IsAgent: nt.to.Kind == kindAgent || nt.to.Kind == kindDepartment},
		Actor:     person(nt.actor),
		Note:      nt.note,
		Previous:  nt.previous,
		Changes:   nt.changes,
		Error:     nt.errText,
		Original:  nt.original,
	}
	if tk := nt.ticket; tk != nil {
		d.Ticket = templates.Ticket{
			Number: tk.Number, Token: n.numbers.FormatToken(tk.Number), Subject: tk.Subject,
			Status: string(tk.Status), Priority: string(tk.Priority), Department: tk.DepartmentName,
			Assignee: tk.AssigneeName, HelpTopic: tk.HelpTopicName, Created: tk.CreatedAt,
		}
		if n.opts.WebURL != "" {
			d.Ticket.URL = strings.TrimRight(n.opts.WebURL, "/") + "/tickets/" + tk.Number
		}
		d.Customer = templates.Person{Name: tk.CustomerName, Email: tk.CustomerEmail}
	}
	if m := nt.message; m != nil {
		names := make([]string, 0, len(m.Attachments))
		for _, a := range m.Attachments {
			if a.Inline {
				continue // images shown in the HTML body, not files anyone asked for
			}
			names = append(names, a.Filename)
		}
		d.Message = &templates.Message{
			Author: person(m.Author).Name, AuthorEmail: m.Author.Email,
			Text: m.Body, Attachments: names, Date: m.CreatedAt, Internal: m.Kind == ticket.KindNote,
		}
	}
	return d
}

// person names an actor for the templates; Name is never empty.
func person(a ticket.Actor) templates.Person {
	p := templates.Person{Name: a.Name, Email: a.Email}
	if p.Name == "" {
		p.Name = a.Email
	}
	if p.Name == "" {
		p.Name = "postdesk"
	}
	return p
}
