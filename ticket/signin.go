package ticket

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// The web console's sign-in state: passwords, one-time sign-in links,
// sessions and the counters that rate-limit attempts, all in PostgreSQL so
// that every replica shares them (migration 00008). Only hashes of the
// secrets are stored. Every function takes the time as an argument, so
// that tests move a clock rather than wait.

// ErrSignIn is a sign-in refused: an unknown or inactive agent, a wrong
// password, or a used, expired or unknown link or session. Callers say
// the same to the user whichever it was.
var ErrSignIn = errors.New("sign-in refused")

// ErrTooManyAttempts is an attempt over the rate limit.
var ErrTooManyAttempts = errors.New("too many sign-in attempts")

// newToken returns a random token for a URL or a cookie and the hash that
// is stored for it.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, tokenHash(tok)
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// SignInAgent finds the active agent with this username or email address
// (not name: a sign-in names one person); ErrSignIn when there is none.
func SignInAgent(ctx context.Context, q Querier, usernameOrEmail string) (Agent, error) {
	key := strings.TrimSpace(usernameOrEmail)
	if key == "" {
		return Agent{}, ErrSignIn
	}
	a, err := scanAgent(q.QueryRow(ctx, agentSelect+`
		 WHERE a.active AND (lower(a.email) = lower($1) OR lower(a.username) = lower($1))
		 GROUP BY a.id
		 ORDER BY (lower(a.email) = lower($1)) DESC
		 LIMIT 1`, key))
	if isNoRows(err) {
		return Agent{}, ErrSignIn
	}
	if err != nil {
		return Agent{}, fmt.Errorf("ticket: sign-in agent: %w", err)
	}
	return a, nil
}

// argon2id parameters (RFC 9106's second recommendation, with less
// memory): about 30 ms on one core.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

func hashPassword(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// passwordMatches checks password against a PHC string that hashPassword
// wrote, with the parameters it records.
func passwordMatches(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// MinPasswordLength is the shortest password SetPassword takes.
const MinPasswordLength = 10

// SetPassword sets an agent's password (stored as an argon2id hash).
func (s *Store) SetPassword(ctx context.Context, agentID int64, password string) error {
	if len([]rune(password)) < MinPasswordLength {
		return fmt.Errorf("ticket: %w: a password has at least %d characters", ErrInvalid, MinPasswordLength)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO agent_passwords (agent_id, hash) VALUES ($1, $2)
		ON CONFLICT (agent_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()`, agentID, hashPassword(password))
	if err != nil {
		return fmt.Errorf("ticket: set password of agent %d: %w", agentID, err)
	}
	return nil
}

// dummyHash is checked when there is no agent or no password, so that a
// wrong address takes as long as a wrong password.
var dummyHash = hashPassword("postdesk: no such agent")

// CheckPassword returns the active agent with this username or email
// address and password; ErrSignIn otherwise, whatever was wrong.
func (s *Store) CheckPassword(ctx context.Context, usernameOrEmail, password string) (Agent, error) {
	a, err := SignInAgent(ctx, s.pool, usernameOrEmail)
	if err != nil && !errors.Is(err, ErrSignIn) {
		return Agent{}, err
	}
	phc := dummyHash
	if err == nil {
		err = s.pool.QueryRow(ctx, `SELECT hash FROM agent_passwords WHERE agent_id = $1`, a.ID).Scan(&phc)
		if isNoRows(err) {
			phc, a = dummyHash, Agent{}
		} else if err != nil {
			return Agent{}, fmt.Errorf("ticket: password of agent %d: %w", a.ID, err)
		}
	}
	if !passwordMatches(phc, password) || a.ID == 0 {
		return Agent{}, ErrSignIn
	}
	return a, nil
}

// SignInLinkLifetime is how long a sign-in link is good for.
const SignInLinkLifetime = 15 * time.Minute

// NewSignInToken makes a one-time sign-in token for an active agent, good
// until now + SignInLinkLifetime. Only its hash is stored.
func (s *Store) NewSignInToken(ctx context.Context, agentID int64, now time.Time) (string, error) {
	tok, hash := newToken()
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO sign_in_tokens (token_hash, agent_id, created_at, expires_at)
		SELECT $1, id, $3, $4 FROM agents WHERE id = $2 AND active`, hash, agentID, now, now.Add(SignInLinkLifetime))
	if err != nil {
		return "", fmt.Errorf("ticket: sign-in token for agent %d: %w", agentID, err)
	}
	if tag.RowsAffected() == 0 {
		return "", fmt.Errorf("ticket: sign-in token for agent %d: %w", agentID, ErrSignIn)
	}
	// Spent and expired tokens are of no use to anyone.
	if _, err := s.pool.Exec(ctx, `DELETE FROM sign_in_tokens WHERE expires_at < $1`, now.Add(-time.Hour)); err != nil {
		return "", fmt.Errorf("ticket: prune sign-in tokens: %w", err)
	}
	return tok, nil
}

// UseSignInToken spends a sign-in token: the first use before it expires
// returns its agent (who must still be active), every other ErrSignIn.
func (s *Store) UseSignInToken(ctx context.Context, token string, now time.Time) (Agent, error) {
	var agentID int64
	err := s.pool.QueryRow(ctx, `
		UPDATE sign_in_tokens SET used_at = $2
		 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING agent_id`, tokenHash(token), now).Scan(&agentID)
	if isNoRows(err) {
		return Agent{}, ErrSignIn
	}
	if err != nil {
		return Agent{}, fmt.Errorf("ticket: use sign-in token: %w", err)
	}
	a, err := AgentByID(ctx, s.pool, agentID)
	if err != nil {
		return Agent{}, err
	}
	if !a.Active {
		return Agent{}, ErrSignIn
	}
	return a, nil
}

// SessionTimes are a session's limits.
type SessionTimes struct {
	Lifetime time.Duration // from sign-in
	Idle     time.Duration // since the last request
}

// sessionTouch is how stale seen_at may get before a request writes it.
const sessionTouch = time.Minute

// NewSession starts a session for an agent and returns the cookie's
// token; only its hash is stored.
func (s *Store) NewSession(ctx context.Context, agentID int64, now time.Time, st SessionTimes) (string, error) {
	tok, hash := newToken()
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO web_sessions (token_hash, agent_id, created_at, seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
		hash, agentID, now, now.Add(st.Lifetime)); err != nil {
		return "", fmt.Errorf("ticket: new session for agent %d: %w", agentID, err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE agent_id = $1 AND (expires_at < $2 OR seen_at < $3)`,
		agentID, now, now.Add(-st.Idle)); err != nil {
		return "", fmt.Errorf("ticket: prune sessions of agent %d: %w", agentID, err)
	}
	return tok, nil
}

// Session returns the agent of a live session: not expired, not idle for
// longer than st.Idle, its agent still active. It notes the request's time
// (at most once a minute). ErrSignIn for any other token.
func (s *Store) Session(ctx context.Context, token string, now time.Time, st SessionTimes) (Agent, error) {
	if token == "" {
		return Agent{}, ErrSignIn
	}
	var agentID int64
	var seen time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT s.agent_id, s.seen_at FROM web_sessions s JOIN agents a ON a.id = s.agent_id
		 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.seen_at > $3 AND a.active`,
		tokenHash(token), now, now.Add(-st.Idle)).Scan(&agentID, &seen)
	if isNoRows(err) {
		return Agent{}, ErrSignIn
	}
	if err != nil {
		return Agent{}, fmt.Errorf("ticket: session: %w", err)
	}
	if now.Sub(seen) > sessionTouch {
		if _, err := s.pool.Exec(ctx, `UPDATE web_sessions SET seen_at = $2 WHERE token_hash = $1`, tokenHash(token), now); err != nil {
			return Agent{}, fmt.Errorf("ticket: touch session: %w", err)
		}
	}
	return AgentByID(ctx, s.pool, agentID)
}

// EndSession ends a session on every replica.
func (s *Store) EndSession(ctx context.Context, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE token_hash = $1`, tokenHash(token)); err != nil {
		return fmt.Errorf("ticket: end session: %w", err)
	}
	return nil
}

// Limit is how many attempts a key may make in a window.
type Limit struct {
	Key    string // e.g. "addr:ken@bank.example", "client:192.0.2.1"
	Max    int
	Window time.Duration
}

// CountAttempt counts one sign-in attempt against every limit, and
// returns ErrTooManyAttempts when any of them is now over its maximum.
// Windows are fixed (now truncated to the window), shared by replicas.
func (s *Store) CountAttempt(ctx context.Context, now time.Time, limits ...Limit) error {
	over := false
	oldest := now
	for _, l := range limits {
		start := now.Truncate(l.Window)
		if b := start.Add(-l.Window); b.Before(oldest) {
			oldest = b
		}
		var n int
		if err := s.pool.QueryRow(ctx, `
			INSERT INTO sign_in_attempts (key, window_start, attempts) VALUES ($1, $2, 1)
			ON CONFLICT (key, window_start) DO UPDATE SET attempts = sign_in_attempts.attempts + 1
			RETURNING attempts`, strings.ToLower(l.Key), start).Scan(&n); err != nil {
			return fmt.Errorf("ticket: count sign-in attempt: %w", err)
		}
		if n > l.Max {
			over = true
		}
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM sign_in_attempts WHERE window_start < $1`, oldest); err != nil {
		return fmt.Errorf("ticket: prune sign-in attempts: %w", err)
	}
	if over {
		return ErrTooManyAttempts
	}
	return nil
}

// MailSignInLink makes a one-time sign-in token for an active agent and,
// in the same transaction, queues the agent_sign_in_link notice with
// link(token) to the agent's address, as every notice is queued.
func (s *Store) MailSignInLink(ctx context.Context, a Agent, now time.Time, link func(token string) string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		tok, hash := newToken()
		tag, err := tx.tx.Exec(ctx, `
			INSERT INTO sign_in_tokens (token_hash, agent_id, created_at, expires_at)
			SELECT $1, id, $3, $4 FROM agents WHERE id = $2 AND active`, hash, a.ID, now, now.Add(SignInLinkLifetime))
		if err != nil {
			return fmt.Errorf("ticket: sign-in token for agent %d: %w", a.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("ticket: sign-in token for agent %d: %w", a.ID, ErrSignIn)
		}
		return tx.Answer(ctx, AgentAnswer{Kind: AnswerSignInLink, Agent: a, Link: link(tok)})
	})
}
