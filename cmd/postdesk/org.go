package main

import (
	"github.com/postdesk/postdesk/cmd/postdesk/config"
	"github.com/postdesk/postdesk/ticket"
)

// departmentSettings is what the database keeps of a department's
// configuration beyond its name and address.
type departmentSettings struct {
	Notices      config.Notices `json:"notices"`
	TemplatesDir string         `json:"templates_dir,omitempty"`
}

// mailboxSettings is a mailbox's connection settings without secrets.
type mailboxSettings struct {
	Host         string `json:"host,omitempty"`
	Port         int    `json:"port,omitempty"`
	TLS          string `json:"tls,omitempty"`
	Username     string `json:"username,omitempty"`
	Auth         string `json:"auth,omitempty"`
	Folder       string `json:"folder,omitempty"`
	After        string `json:"after,omitempty"`
	MoveTo       string `json:"move_to,omitempty"`
	PollInterval string `json:"poll_interval,omitempty"`
	IDLE         bool   `json:"idle,omitempty"`
}

// orgOf maps the configuration's organisation onto the ticket domain.
func orgOf(cfg *config.Config) ticket.Org {
	var org ticket.Org
	for _, d := range cfg.Departments {
		org.Departments = append(org.Departments, ticket.DepartmentSpec{
			Name: d.Name, Email: d.Email,
			Settings: departmentSettings{Notices: d.Notices, TemplatesDir: d.TemplatesDir},
		})
	}
	for _, a := range cfg.Agents {
		org.Agents = append(org.Agents, ticket.AgentSpec{
			Name: a.Name, Email: a.Email, Username: a.Username, Active: a.Active, Departments: a.Departments,
		})
	}
	for _, h := range cfg.HelpTopics {
		org.HelpTopics = append(org.HelpTopics, ticket.HelpTopicSpec{
			Name: h.Name, Department: h.Department, Priority: ticket.Priority(h.Priority),
		})
	}
	for _, m := range cfg.Mailboxes {
		spec := ticket.MailboxSpec{
			Name: m.Name, Address: m.Address, DisplayName: m.DisplayName, Kind: string(m.Kind),
			Department: m.Department, HelpTopic: m.HelpTopic, Priority: ticket.Priority(m.Priority),
		}
		if i := m.IMAP; i != nil {
			spec.Settings = mailboxSettings{
				Host: i.Host, Port: i.Port, TLS: string(i.TLS), Username: i.Username, Auth: string(i.Auth),
				Folder: i.Folder, After: string(i.After), MoveTo: i.MoveTo, PollInterval: i.PollInterval.String(), IDLE: i.IDLE,
			}
		}
		org.Mailboxes = append(org.Mailboxes, spec)
	}
	return org
}
