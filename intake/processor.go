package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/intake/groupcommit"
	"github.com/postdesk/postdesk/intake/parse"
	"github.com/postdesk/postdesk/ticket"
)

// Options configures a Processor.
type Options struct {
	// MessageIDDomain is the domain of postdesk's own Message-IDs; mail
	// carrying our loop header for it is ignored.
	MessageIDDomain string
	// ReplySecret is the master key of signed reply addresses.
	ReplySecret []byte
	// OwnAddresses are further addresses of ours (department notice
	// addresses) that never become customers or collaborators.
	OwnAddresses []string
	Filters      []Filter
	// Ban lists lower-case addresses and "@domain" entries whose mail is
	// quarantined.
	Ban       []string
	AgentMail AgentMailPolicy
	// QuarantineMachineMail lists the mailbox addresses (lower case) whose
	// machine-flagged mail (Auto-Submitted, Precedence: bulk|list, List-Id)
	// is quarantined; other mailboxes let it open or join a ticket without
	// an automatic answer.
	QuarantineMachineMail map[string]bool
	Logger                *slog.Logger
	Metrics               *Metrics
	// GroupCommit tunes how mails that arrive together share a commit;
	// MaxMembers 1 gives each mail a transaction of its own.
	GroupCommit groupcommit.Options
	// Postmaster is the address of the mailbox that mail to postmaster at
	// our domains goes to (see postmaster.go); empty keeps it in quarantine.
	Postmaster string
}

// AgentMailPolicy decides how far mail from agent addresses is trusted.
type AgentMailPolicy struct {
	// AuthservID is the authserv-id of Authentication-Results headers added
	// by our own MTA (or, for IMAP mailboxes, by the provider's); empty
	// trusts none.
	AuthservID string
	// TrustedRelays are the SMTP/LMTP peers inside our trust boundary: only
	// mail they hand over may carry an Authentication-Results field we
	// believe. None by default, so a listener exposed to the world trusts
	// no such field at all.
	TrustedRelays []netip.Prefix
	// TrustSocket trusts the peers of an LMTP listener on a unix socket
	// (Envelope.Remote "unix:PATH") as trusted relays.
	TrustSocket bool
	// LookupTXT looks up the DNS TXT records of a name, for the DKIM keys
	// that prove agent mail without a trusted result; nil uses the
	// system's resolver.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
	// Quarantine keeps unauthenticated mail from agent addresses in
	// quarantine instead of posting it as a customer-side message.
	Quarantine bool
}

// Filter is a rule for mail that opens a new ticket.
type Filter struct {
	Name            string
	Match           func(from string, to []string, subject, body string) bool
	HelpTopic       string
	Department      string
	Priority        ticket.Priority
	AddCollaborator string
	Reject          string // reason; the mail is kept as rejected, no ticket
	Quarantine      string // reason; the mail is kept in quarantine
}

// Processor turns raw mails into tickets. It is safe for concurrent use.
type Processor struct {
	store *ticket.Store
	opts  Options
	log   *slog.Logger

	mu        sync.RWMutex
	mailboxes []ticket.Mailbox
	own       map[string]bool
	domains   map[string]bool // of the mailboxes' addresses, lower case

	group *groupcommit.Committer[arrival, Result] // nil: one transaction per mail
}

// NewProcessor loads the mailboxes from the database and returns a processor.
func NewProcessor(ctx context.Context, store *ticket.Store, opts Options) (*Processor, error) {
	p := &Processor{store: store, opts: opts, log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.group = newGrouper(p, opts.GroupCommit)
	if err := p.Reload(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload reads the mailboxes again, after the organisation was synced.
func (p *Processor) Reload(ctx context.Context) error {
	boxes, err := ticket.Mailboxes(ctx, p.store.Pool())
	if err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	own, domains := map[string]bool{}, map[string]bool{}
	for _, m := range boxes {
		own[strings.ToLower(m.Address)] = true
		if _, d, ok := strings.Cut(m.Address, "@"); ok {
			domains[strings.ToLower(d)] = true
		}
	}
	for _, a := range p.opts.OwnAddresses {
		if a != "" {
			own[strings.ToLower(a)] = true
		}
	}
	p.mu.Lock()
	p.mailboxes, p.own, p.domains = boxes, own, domains
	p.mu.Unlock()
	return nil
}

// Mailbox returns the mailbox an address delivers to: its own address or a
// +tag variant of it (signed reply addresses included), or the postmaster
// mailbox for postmaster.
func (p *Processor) Mailbox(addr string) (ticket.Mailbox, bool) {
	if pm, ok := p.postmasterBox(addr); ok {
		addr = pm
	}
	base := baseAddress(addr)
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, m := range p.mailboxes {
		if strings.EqualFold(m.Address, base) {
			return m, true
		}
	}
	return ticket.Mailbox{}, false
}

// Accepts reports whether mail to addr is for one of our mailboxes, or for
// postmaster: what a listener asks before it takes a recipient.
func (p *Processor) Accepts(addr string) bool {
	_, ok := p.Mailbox(addr)
	return ok || p.isPostmaster(addr)
}

func (p *Processor) mailboxByID(id int64) (ticket.Mailbox, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, m := range p.mailboxes {
		if m.ID == id {
			return m, true
		}
	}
	return ticket.Mailbox{}, false
}

// isOwn reports whether addr (or the mailbox it is a +tag of) is ours.
func (p *Processor) isOwn(addr string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.own[strings.ToLower(baseAddress(addr))] || p.own[strings.ToLower(strings.TrimSpace(addr))]
}

// baseAddress removes a +tag from an address's local part.
func baseAddress(addr string) string {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return addr
	}
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	return local + "@" + domain
}

// errDuplicate rolls back a delivery whose mail was committed before.
var errDuplicate = errors.New("duplicate")

// Deliver commits one mail and what became of it. It returns only after the
// raw mail, its outcome and any ticket change are committed; an error means
// nothing was, and the sender should try again later. Mail that cannot
// become a ticket message is committed too, with its reason. Mails
// delivered at the same time may share one transaction (GroupCommit).
func (p *Processor) Deliver(ctx context.Context, env Envelope, raw []byte) (Result, error) {
	msg, perr := parse.Parse(raw)
	var res Result
	var err error
	// A big mail goes alone: its bytes are streamed by COPY
	// (ticket.StageBytes), which a shared transaction cannot do, and it
	// would hold up the small mails of its group.
	if p.group != nil && len(raw) <= ticket.StreamAbove {
		res, err = p.group.Do(ctx, arrival{env: env, raw: raw, msg: msg, perr: perr})
	} else {
		res, err = p.deliverAlone(ctx, env, raw, msg, perr)
	}
	if err != nil {
		return Result{}, err
	}
	if res.Duplicate {
		p.opts.Metrics.mail(res.Mailbox, env.Transport, res, "")
		return res, nil
	}
	p.log.Info("mail accepted", "transport", env.Transport, "mailbox", res.Mailbox, "message_id", messageIDOf(msg, raw),
		"outcome", res.Outcome, "ticket", res.TicketNumber, "rule", res.Rule, "reason", res.Reason, "duplicate", res.Duplicate)
	class := ""
	if msg != nil {
		class = string(msg.Class)
	}
	p.opts.Metrics.mail(res.Mailbox, env.Transport, res, class)
	return res, nil
}

// deliverAlone commits one mail in a transaction of its own.
func (p *Processor) deliverAlone(ctx context.Context, env Envelope, raw []byte, msg *parse.Message, perr error) (Result, error) {
	var res Result
	err := p.store.InTx(ctx, func(tx *ticket.Tx) error {
		d := &delivery{p: p, tx: tx, env: env, raw: raw, msg: msg}
		_, err := d.run(ctx, perr)
		res = d.res // also what became of the first copy of a duplicate
		return err
	})
	switch {
	case errors.Is(err, errDuplicate):
		return res, nil
	case err == nil:
	case isRefusal(err) && ctx.Err() == nil:
		// The mail is fine but the change it asks for cannot be made (say a
		// department was deactivated): keep it, with the reason, for replay.
		p.log.Warn("mail quarantined", "message_id", messageIDOf(msg, raw), "error", err)
		res, err = p.quarantine(ctx, env, raw, msg, "could not be applied: "+err.Error())
		if err != nil {
			return Result{}, temporary(err)
		}
	default:
		return Result{}, temporary(err)
	}
	return res, nil
}

func isRefusal(err error) bool {
	return errors.Is(err, ticket.ErrInvalid) || errors.Is(err, ticket.ErrNotFound) || errors.Is(err, ticket.ErrNotAllowed)
}

// quarantine commits the mail alone, with its reason.
func (p *Processor) quarantine(ctx context.Context, env Envelope, raw []byte, msg *parse.Message, reason string) (Result, error) {
	var res Result
	err := p.store.InTx(ctx, func(tx *ticket.Tx) error {
		d := &delivery{p: p, tx: tx, env: env, raw: raw, msg: msg}
		err := d.insertInbound(ctx)
		if err == nil {
			d.res.Outcome, d.res.Reason = OutcomeQuarantined, reason
			err = d.finish(ctx, 0)
		}
		res = d.res
		return err
	})
	if errors.Is(err, errDuplicate) {
		return res, nil // stored meanwhile: what became of that copy
	}
	return res, err
}

func messageIDOf(msg *parse.Message, raw []byte) string {
	if msg != nil && msg.MessageID != "" {
		return msg.MessageID
	}
	sum := sha256.Sum256(raw)
	return "sha256-" + hex.EncodeToString(sum[:]) + "@postdesk.invalid"
}

// delivery is one mail on its way through a transaction.
type delivery struct {
	p   *Processor
	tx  *ticket.Tx
	env Envelope
	raw []byte
	msg *parse.Message
	res Result
	// replay marks a stored mail run again (Processor.Replay): its row,
	// res.InboundID, is stored and locked already.
	replay bool
	// rawHeader counts the raw header's fields by name once authenticated
	// has found the header plain (proof.go).
	rawHeader map[string]int
	was       Outcome    // for a replay: the stored outcome
	row       inboundRow // set by insertInbound, written by finish
	stored    bool       // finish wrote the mail and its outcome
}

// insertInbound looks the mail up: when it was stored before, it reports
// errDuplicate with the first delivery's outcome and nothing is written;
// otherwise it takes the id of the mail's row, which finish writes with the
// outcome at the end of the transaction. A replay stores nothing: it reuses
// the row it locked.
func (d *delivery) insertInbound(ctx context.Context) error {
	if d.replay {
		return nil
	}
	id, key := dedupeKey(d.msg, d.raw)
	d.row = inboundRow{messageID: id, key: key}
	if m, ok := d.mailbox(); ok {
		d.row.mailboxID, d.res.Mailbox = &m.ID, m.Name
	}
	if d.env.Transport == TransportIMAP {
		v, u := int64(d.env.IMAPUIDValidity), int64(d.env.IMAPUID)
		d.row.uidValidity, d.row.uid = &v, &u
	}
	// The stored copy, or else (the second branch runs only when the first
	// found nothing) a new id.
	var fresh bool
	var ticketID *int64
	err := d.tx.DB().QueryRow(ctx, `
		SELECT id, outcome, reason, thread_rule, ticket_id, false FROM inbound_mails WHERE dedupe_key = $1
		UNION ALL
		SELECT nextval(pg_get_serial_sequence('inbound_mails', 'id')), '', '', '', NULL, true
		 LIMIT 1`, key).Scan(&d.res.InboundID, &d.res.Outcome, &d.res.Reason, &d.res.Rule, &ticketID, &fresh)
	if err != nil {
		return fmt.Errorf("intake: look up mail %s: %w", id, err)
	}
	if fresh {
		return nil
	}
	if ticketID != nil {
		// Only a duplicate pays for this second statement: a new mail,
		// the common case, still takes one.
		numbers, err := ticket.Numbers(ctx, d.tx.DB(), []int64{*ticketID})
		if err != nil {
			return fmt.Errorf("intake: look up mail %s: %w", id, err)
		}
		d.res.TicketNumber = numbers[*ticketID]
	}
	d.res.Duplicate = true
	return errDuplicate
}

// dedupeKey returns the Message-ID a mail is stored under and the key that
// makes it stored once: the Message-ID, or the content hash when there is
// no usable one, so that unrelated mails sharing a broken id are never
// merged.
func dedupeKey(msg *parse.Message, raw []byte) (messageID, key string) {
	messageID = ticket.Clean(messageIDOf(msg, raw))
	if msg == nil || msg.SyntheticID || !wellFormedID(messageID) {
		sum := sha256.Sum256(raw)
		return messageID, "sha256:" + hex.EncodeToString(sum[:])
	}
	return messageID, messageID
}

// inboundRow is what intake stores of a mail beside its outcome.
type inboundRow struct {
	messageID, key   string
	mailboxID        *int64
	uidValidity, uid *int64
}

// errRaced is a duplicate found only when the mail's row was written: the
// same mail, delivered at the same time, was stored first. Unlike a
// duplicate found at the start, the transaction has written the rest of the
// mail's handling, which must be rolled back.
var errRaced = fmt.Errorf("%w: the same mail was stored meanwhile", errDuplicate)

// finish stores the mail with its outcome (a replay records the new
// outcome on its row). A copy stored meanwhile by another delivery makes
// it report errRaced with that copy's outcome.
func (d *delivery) finish(ctx context.Context, ticketID int64) error {
	var tid *int64
	if ticketID != 0 {
		tid = &ticketID
	}
	if d.replay {
		_, err := d.tx.DB().Exec(ctx, finishReplaySQL, d.res.InboundID, d.res.Outcome, d.res.Reason, tid, d.res.Rule)
		if err != nil {
			return fmt.Errorf("intake: record outcome: %w", err)
		}
		d.stored = true
		return nil
	}
	var err error
	if len(d.raw) > ticket.StreamAbove {
		if err = d.tx.StageBytes(ctx, d.raw); err == nil {
			err = d.tx.DB().QueryRow(ctx, finishStreamedSQL,
				d.res.InboundID, d.env.Transport, d.row.mailboxID, d.row.uidValidity, d.row.uid, ticket.Clean(d.env.Remote),
				ticket.Clean(d.env.MailFrom), cleanAll(d.env.Rcpt), d.row.messageID, d.row.key, len(d.raw),
				d.res.Outcome, d.res.Reason, tid, d.res.Rule).Scan(new(int64))
		}
	} else {
		err = d.tx.DB().QueryRow(ctx, `
		INSERT INTO inbound_mails (id, transport, mailbox_id, imap_uidvalidity, imap_uid, remote_addr, mail_from,
		                           rcpt_to, message_id, dedupe_key, raw, size, outcome, reason, ticket_id, thread_rule)
		OVERRIDING SYSTEM VALUE
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id`,
			d.res.InboundID, d.env.Transport, d.row.mailboxID, d.row.uidValidity, d.row.uid, ticket.Clean(d.env.Remote),
			ticket.Clean(d.env.MailFrom), cleanAll(d.env.Rcpt), d.row.messageID, d.row.key, d.raw, len(d.raw),
			d.res.Outcome, d.res.Reason, tid, d.res.Rule).Scan(new(int64))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		// Another delivery of this mail committed first; report what it
		// made of it, as for any duplicate.
		d.res = Result{Mailbox: d.res.Mailbox}
		if err := d.insertInbound(ctx); !errors.Is(err, errDuplicate) {
			return fmt.Errorf("intake: store mail %s: conflicting copy not found: %v", d.row.messageID, err)
		}
		return errRaced
	}
	if err != nil {
		return fmt.Errorf("intake: store mail %s: %w", d.row.messageID, err)
	}
	d.stored = true
	return nil
}

// wellFormedID reports whether a Message-ID has the left@right form that
// makes it worth trusting as a mail's identity.
func wellFormedID(id string) bool {
	left, right, ok := strings.Cut(id, "@")
	return ok && left != "" && right != "" && !strings.ContainsAny(id, " \t<>")
}

func cleanAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = ticket.Clean(s)
	}
	return out
}
