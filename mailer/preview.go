package mailer

import (
	"context"
	"fmt"
	"strings"

	"github.com/postdesk/postdesk/templates"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/ticket/notice"
)

// Preview returns the complete MIME message that notice name about ticket
// number would be, addressed to to: by default the customer for customer
// notices, and the assignee or else the first agent of the department for
// agent notices. It is `postdesk template render`: it reads the ticket
// and its history and writes nothing. The message shown is the one the
// notice would carry (the first message, the latest reply, note or
// customer message); attachments are named, not attached. With DKIM
// configured the message is signed as the worker would sign it.
func Preview(ctx context.Context, store *ticket.Store, opts Options, name, number, to string) ([]byte, error) {
	if !isNotice(name) {
		return nil, fmt.Errorf("mailer: unknown notice %q (notices: %s)", name, strings.Join(templates.Names(), ", "))
	}
	n, err := NewNotifier(opts, store.Numbering())
	if err != nil {
		return nil, err
	}
	tk, err := store.Get(ctx, number)
	if err != nil {
		return nil, err
	}
	history, err := store.History(ctx, tk.ID)
	if err != nil {
		return nil, err
	}
	nt, err := notice.ForPreview(ctx, store, name, tk, history, to)
	if err != nil {
		return nil, err
	}
	ids, err := store.ThreadIDs(ctx, tk.ID, nt.To.Email)
	if err != nil {
		return nil, err
	}
	out, err := n.buildWith(&nt, threadOf(ids))
	if err != nil {
		return nil, err
	}
	if opts.DKIM == nil {
		return out.Raw, nil
	}
	s, err := newDKIMSigner(opts.DKIM)
	if err != nil {
		return nil, err
	}
	return s.sign(out.Raw)
}

func isNotice(name string) bool {
	for _, n := range templates.Names() {
		if n == name {
			return true
		}
	}
	return false
}
