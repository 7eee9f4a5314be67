package config

import "strings"

// Department returns the department with this name, ignoring case, or nil.
func (c *Config) Department(name string) *Department {
	for i := range c.Departments {
		if strings.EqualFold(c.Departments[i].Name, name) {
			return &c.Departments[i]
		}
	}
	return nil
}

// Agent returns the agent with this email address or username, ignoring
// case, or nil.
func (c *Config) Agent(emailOrUsername string) *Agent {
	for i := range c.Agents {
		a := &c.Agents[i]
		if strings.EqualFold(a.Email, emailOrUsername) || strings.EqualFold(a.Username, emailOrUsername) {
			return a
		}
	}
	return nil
}

// HelpTopic returns the help topic with this name, ignoring case, or nil.
func (c *Config) HelpTopic(name string) *HelpTopic {
	for i := range c.HelpTopics {
		if strings.EqualFold(c.HelpTopics[i].Name, name) {
			return &c.HelpTopics[i]
		}
	}
	return nil
}

// Mailbox returns the mailbox with this name, ignoring case, or nil.
func (c *Config) Mailbox(name string) *Mailbox {
	for i := range c.Mailboxes {
		if strings.EqualFold(c.Mailboxes[i].Name, name) {
			return &c.Mailboxes[i]
		}
	}
	return nil
}

// MailboxByAddress returns the mailbox that receives mail for addr, or nil.
// Case is ignored, surrounding angle brackets are dropped, and a +tag in
// the local part (support+1234@bank.example, as used by signed reply
// addresses) still finds the mailbox support@bank.example.
func (c *Config) MailboxByAddress(addr string) *Mailbox {
	addr = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">")
	if m := c.mailboxExact(addr); m != nil {
		return m
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return nil
	}
	local, domain := addr[:at], addr[at:]
	// Cut at each '+' from the right so that a mailbox whose own address
	// holds a '+' is still found for its tagged variants.
	for i := strings.LastIndexByte(local, '+'); i > 0; i = strings.LastIndexByte(local[:i], '+') {
		if m := c.mailboxExact(local[:i] + domain); m != nil {
			return m
		}
	}
	return nil
}

func (c *Config) mailboxExact(addr string) *Mailbox {
	for i := range c.Mailboxes {
		if strings.EqualFold(c.Mailboxes[i].Address, addr) {
			return &c.Mailboxes[i]
		}
	}
	return nil
}
