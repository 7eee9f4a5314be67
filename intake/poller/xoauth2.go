package poller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// tokenTimeout bounds the token command.
const tokenTimeout = 30 * time.Second

// xoauth2 is the SASL XOAUTH2 mechanism of Gmail and Microsoft 365, which
// go-sasl does not have.
type xoauth2 struct {
	user, token string
}

func newXOAUTH2(user, token string) sasl.Client { return &xoauth2{user: user, token: token} }

func (a *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a JSON object) with an empty
// response, as the mechanism requires; the server then fails the command
// with NO, which carries the reason to the caller.
func (a *xoauth2) Next(challenge []byte) ([]byte, error) {
	if !json.Valid(challenge) {
		return nil, sasl.ErrUnexpectedServerChallenge
	}
	return []byte{}, nil
}

// readToken gets the mailbox's current access token. Errors name the
// command or file and carry what the command wrote to standard error, never
// the token; their words (what the health endpoints show) carry neither.
func readToken(ctx context.Context, box Mailbox) (string, error) {
	var out []byte
	source := "OAuth token helper"
	if box.TokenFile != "" {
		source = "OAuth token file"
		b, err := os.ReadFile(box.TokenFile)
		if err != nil {
			return "", fail("cannot read the OAuth token file", fmt.Errorf("poller: read the token file: %w", err))
		}
		out = b
	} else {
		ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", box.TokenCommand)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		// A child that keeps the pipes open must not hold us past the timeout.
		cmd.WaitDelay = 5 * time.Second
		b, err := cmd.Output()
		if err != nil {
			detail := fmt.Errorf("poller: token command %q: %w", box.TokenCommand, err)
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 300 {
				msg = msg[:300] + "..."
			}
			if msg != "" {
				detail = fmt.Errorf("poller: token command %q: %w: %s", box.TokenCommand, err, msg)
			}
			return "", fail(helperWords(ctx, err), detail)
		}
		out = b
	}
	token := strings.TrimSpace(string(out))
	if token == "" {
		return "", fail("the "+source+" gave an empty token", errors.New("poller: the OAuth token source gave an empty token"))
	}
	if strings.ContainsAny(token, "\x01\r\n") {
		return "", fail("the "+source+" gave more than one line",
			errors.New("poller: the OAuth token source gave more than one line"))
	}
	return token, nil
}

// helperWords words a token command that failed: how it ended, never what
// it wrote.
func helperWords(ctx context.Context, err error) string {
	var exit *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("OAuth token helper did not finish within %s", tokenTimeout)
	case errors.As(err, &exit):
		return fmt.Sprintf("OAuth token helper failed (%s)", exit.ProcessState)
	}
	return "OAuth token helper could not be run"
}
