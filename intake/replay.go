package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/ticket"
)

// Replaying runs a quarantined or ignored mail through intake again, with the
// processor's current options and organisation, as if it had just arrived.
// It reuses the mail's stored row (same id, same dedupe key) instead of
// storing the mail again, and records the new outcome on that row in the
// transaction of the ticket change and its notices.

// ErrMailNotFound means no stored mail has the given id.
var ErrMailNotFound = errors.New("no stored mail has this id")

// ErrNotQuarantined refuses to replay a mail that is neither in quarantine
// nor ignored (or no longer is): it became a ticket message, or was rejected.
var ErrNotQuarantined = errors.New("only quarantined or ignored mail can be replayed")

// Replayable says whether mail with this outcome can be replayed: mail held
// in quarantine, and mail ignored as a machine's (an auto-reply, a bounce),
// which a later configuration or parser may read differently.
func Replayable(o Outcome) bool { return o == OutcomeQuarantined || o == OutcomeIgnored }

// finishReplaySQL is finish's statement for a replayed mail: the outcome,
// and that a replay happened.
const finishReplaySQL = `UPDATE inbound_mails SET outcome = $2, reason = $3, ticket_id = $4, thread_rule = $5,
		replayed_at = now(), replays = replays + 1
	WHERE id = $1`

// Replay runs the quarantined or ignored mail stored as inboundID through
// intake again.
// Its row is locked for the whole transaction, so that two replays of one
// mail at once change the ticket once: the second finds it no longer
// quarantined and returns ErrNotQuarantined. A mail that is still refused
// stays quarantined (or ignored), with the new reason.
func (p *Processor) Replay(ctx context.Context, inboundID int64) (Result, error) {
	var res Result
	var messageID string
	var was Outcome
	err := p.store.InTx(ctx, func(tx *ticket.Tx) error {
		d, perr, err := p.lockStored(ctx, tx, inboundID)
		if err != nil {
			return err
		}
		was = d.was
		messageID = messageIDOf(d.msg, d.raw)
		var received time.Time
		var held string
		if err := tx.DB().QueryRow(ctx, `SELECT received_at, reason FROM inbound_mails WHERE id = $1`, inboundID).
			Scan(&received, &held); err != nil {
			return fmt.Errorf("intake: replay mail %d: %w", inboundID, err)
		}
		if res, err = d.run(ctx, perr); err != nil {
			return err
		}
		return recordReplay(ctx, tx, res, inboundID, received, was, held)
	})
	switch {
	case err == nil:
	case isRefusal(err) && ctx.Err() == nil:
		// As in deliverAlone: the change the mail asks for cannot be made,
		// so the mail stays in quarantine with the reason.
		res, err = p.requarantine(ctx, inboundID, "could not be applied: "+err.Error())
		if err != nil {
			return Result{}, err
		}
	default:
		return Result{}, err
	}
	res.Was = was
	p.log.Info("mail replayed", "inbound_id", inboundID, "message_id", messageID, "mailbox", res.Mailbox,
		"was", was, "outcome", res.Outcome, "ticket", res.TicketNumber, "rule", res.Rule, "reason", res.Reason)
	return res, nil
}

// recordReplay notes on the ticket a replayed mail opened or joined that
// the mail came earlier and was held or ignored, so that its history tells
// why the mail appears only now.
func recordReplay(ctx context.Context, tx *ticket.Tx, res Result, id int64, received time.Time, was Outcome, held string) error {
	if res.TicketNumber == "" || (res.Outcome != OutcomeNewTicket && res.Outcome != OutcomeFollowUp) {
		return nil
	}
	tk, err := tx.LockNumber(ctx, res.TicketNumber)
	if err != nil {
		return err
	}
	_, err = tx.Record(ctx, tk, ticket.Event{Actor: ticket.System("postdesk mail replay"),
		Action: ticket.ActionMailReplayed, New: fmt.Sprintf("mail %d", id),
		Detail: fmt.Sprintf("received %s, %s: %s", received.UTC().Format("2006-01-02 15:04:05Z"), heldAs(was), held)})
	return err
}

func heldAs(was Outcome) string {
	if was == OutcomeIgnored {
		return "ignored"
	}
	return "held in quarantine"
}

// lockStored locks a quarantined or ignored mail's row and returns its delivery, ready
// to run, with the parse error of its raw bytes.
func (p *Processor) lockStored(ctx context.Context, tx *ticket.Tx, id int64) (*delivery, error, error) {
	var env Envelope
	var transport string
	var outcome Outcome
	var mailboxID, uidValidity, uid *int64
	var raw []byte
	err := tx.DB().QueryRow(ctx, `
		SELECT transport, mailbox_id, imap_uidvalidity, imap_uid, remote_addr, mail_from, rcpt_to, raw, outcome
		  FROM inbound_mails WHERE id = $1 FOR UPDATE`, id).
		Scan(&transport, &mailboxID, &uidValidity, &uid, &env.Remote, &env.MailFrom, &env.Rcpt, &raw, &outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, fmt.Errorf("intake: replay mail %d: %w", id, ErrMailNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("intake: replay mail %d: %w", id, err)
	}
	if !Replayable(outcome) {
		return nil, nil, fmt.Errorf("intake: replay mail %d: it is %s, not quarantined or ignored: %w", id, outcome, ErrNotQuarantined)
	}
	env.Transport = Transport(transport)
	if env.Transport == TransportIMAP {
		// Polled mail belongs to its mailbox; other mail is routed by its
		// recipients, as the configuration has them now.
		if mailboxID != nil {
			env.MailboxID = *mailboxID
		}
		if uidValidity != nil && uid != nil {
			env.IMAPUIDValidity, env.IMAPUID = uint32(*uidValidity), uint32(*uid)
		}
	}
	msg, perr := parse.Parse(raw)
	d := &delivery{p: p, tx: tx, env: env, raw: raw, msg: msg, replay: true, was: outcome}
	d.res.InboundID = id
	if msg != nil || env.MailboxID != 0 {
		if m, ok := d.mailbox(); ok {
			d.res.Mailbox = m.Name
		}
	}
	return d, perr, nil
}

// requarantine records, in a transaction of its own, that a replayed mail
// is still refused.
func (p *Processor) requarantine(ctx context.Context, id int64, reason string) (Result, error) {
	var res Result
	err := p.store.InTx(ctx, func(tx *ticket.Tx) error {
		d, _, err := p.lockStored(ctx, tx, id)
		if err != nil {
			return err
		}
		d.res.Outcome, d.res.Reason = OutcomeQuarantined, reason
		res = d.res
		return d.finish(ctx, 0)
	})
	return res, err
}

// StoredMail is an inbound mail as stored, and what became of it.
type StoredMail struct {
	ID         int64     `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Transport  Transport `json:"transport"`
	Mailbox    string    `json:"mailbox"` // name; "" when no mailbox took it
	// Sender is the From of the mail when it parses, else the envelope
	// sender ("<>" for none).
	Sender          string     `json:"sender"`
	Subject         string     `json:"subject"`
	Outcome         Outcome    `json:"outcome"`
	Reason          string     `json:"reason"`
	TicketNumber    string     `json:"ticket"`
	ThreadRule      string     `json:"thread_rule"`
	MessageID       string     `json:"message_id"`
	RemoteAddr      string     `json:"remote_addr"`
	MailFrom        string     `json:"mail_from"`
	Rcpt            []string   `json:"rcpt_to"`
	Size            int        `json:"size"`
	IMAPUIDValidity *int64     `json:"imap_uidvalidity"`
	IMAPUID         *int64     `json:"imap_uid"`
	ReplayedAt      *time.Time `json:"replayed_at"`
	Replays         int        `json:"replays"`
	// Raw is the mail byte for byte; StoredMails leaves it out.
	Raw []byte `json:"-"`

	ticketID *int64 // of TicketNumber, which the ticket package looks up
}

// storedSelect reads a StoredMail; the last column is the raw mail, or its
// beginning (the header is all a listing needs).
const storedSelect = `
	SELECT i.id, i.received_at, i.transport, coalesce(m.name, ''), i.outcome, i.reason, i.ticket_id,
	       i.thread_rule, i.message_id, i.remote_addr, i.mail_from, i.rcpt_to, i.size, i.imap_uidvalidity, i.imap_uid,
	       i.replayed_at, i.replays, %s
	  FROM inbound_mails i LEFT JOIN mailboxes m ON m.id = i.mailbox_id`

func scanStored(row pgx.CollectableRow) (StoredMail, error) {
	var s StoredMail
	err := row.Scan(&s.ID, &s.ReceivedAt, &s.Transport, &s.Mailbox, &s.Outcome, &s.Reason, &s.ticketID,
		&s.ThreadRule, &s.MessageID, &s.RemoteAddr, &s.MailFrom, &s.Rcpt, &s.Size, &s.IMAPUIDValidity, &s.IMAPUID,
		&s.ReplayedAt, &s.Replays, &s.Raw)
	if err != nil {
		return s, err
	}
	s.Sender, s.Subject = senderAndSubject(s.Raw, s.MailFrom)
	return s, nil
}

// StoredMails lists stored mails with the given outcome ("" for all),
// newest first, at most limit of them.
func StoredMails(ctx context.Context, q ticket.Querier, outcome Outcome, limit int) ([]StoredMail, error) {
	if limit <= 0 {
		limit = 50
	}
	// 64 KiB hold the header of any sensible mail; the body is not needed.
	rows, err := q.Query(ctx, fmt.Sprintf(storedSelect, `substring(i.raw from 1 for 65536)`)+`
		 WHERE ($1 = '' OR i.outcome = $1)
		 ORDER BY i.received_at DESC, i.id DESC
		 LIMIT $2`, string(outcome), limit)
	if err != nil {
		return nil, fmt.Errorf("intake: list mails: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StoredMail, error) {
		s, err := scanStored(row)
		s.Raw = nil // only its beginning was read
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("intake: list mails: %w", err)
	}
	if err := withNumbers(ctx, q, list); err != nil {
		return nil, fmt.Errorf("intake: list mails: %w", err)
	}
	return list, nil
}

// withNumbers fills in the numbers of the mails' tickets, all in one
// statement.
func withNumbers(ctx context.Context, q ticket.Querier, mails []StoredMail) error {
	var ids []int64
	for _, m := range mails {
		if m.ticketID != nil {
			ids = append(ids, *m.ticketID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	numbers, err := ticket.Numbers(ctx, q, ids)
	if err != nil {
		return err
	}
	for i, m := range mails {
		if m.ticketID != nil {
			mails[i].TicketNumber = numbers[*m.ticketID]
		}
	}
	return nil
}

// GetStoredMail returns one stored mail with its raw bytes.
func GetStoredMail(ctx context.Context, q ticket.Querier, id int64) (StoredMail, error) {
	rows, err := q.Query(ctx, fmt.Sprintf(storedSelect, `i.raw`)+` WHERE i.id = $1`, id)
	if err != nil {
		return StoredMail{}, fmt.Errorf("intake: mail %d: %w", id, err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanStored)
	if errors.Is(err, pgx.ErrNoRows) {
		return StoredMail{}, fmt.Errorf("intake: mail %d: %w", id, ErrMailNotFound)
	}
	if err != nil {
		return StoredMail{}, fmt.Errorf("intake: mail %d: %w", id, err)
	}
	one := []StoredMail{s}
	if err := withNumbers(ctx, q, one); err != nil {
		return StoredMail{}, fmt.Errorf("intake: mail %d: %w", id, err)
	}
	return one[0], nil
}

// QuarantinedIDs lists the mails in quarantine, oldest first: the order
// they arrived in, so that a replayed follow-up finds the ticket a replayed
// first mail opens.
func QuarantinedIDs(ctx context.Context, q ticket.Querier) ([]int64, error) {
	rows, err := q.Query(ctx, `SELECT id FROM inbound_mails WHERE outcome = 'quarantined' ORDER BY received_at, id`)
	if err != nil {
		return nil, fmt.Errorf("intake: quarantined mails: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// senderAndSubject reads From and Subject from the header of raw; the
// sender is the envelope's when From has no address.
func senderAndSubject(raw []byte, mailFrom string) (sender, subject string) {
	if msg, err := parse.Parse(header(raw)); err == nil {
		sender, subject = msg.From.Address, msg.Subject
		if sender != "" && msg.From.Name != "" {
			sender = fmt.Sprintf("%s <%s>", msg.From.Name, sender)
		}
	}
	if sender == "" {
		sender = mailFrom
	}
	if sender == "" {
		sender = "<>"
	}
	return sender, subject
}

// header is raw up to and including the blank line after its header, or
// all of raw when there is none.
func header(raw []byte) []byte {
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			break
		}
		line := bytes.TrimSuffix(raw[i:i+j], []byte("\r"))
		if len(line) == 0 {
			return raw[:i+j+1]
		}
		i += j + 1
	}
	return raw
}
