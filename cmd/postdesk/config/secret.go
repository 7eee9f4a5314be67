package config

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints as, whatever the verb or encoder.
const redacted = "******"

// Secret is a value read from the environment that must never be printed.
// fmt (every verb, including %#v and %x), encoding/json, text encoders,
// yaml.v3 and slog all see "******". Use Reveal, or a string conversion,
// where the real value is needed.
type Secret string

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// String returns "******".
func (s Secret) String() string { return redacted }

// GoString returns "******" so that %#v does not leak the value.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter: every verb prints "******". Without it a
// wrong verb such as %d would print the raw value, because fmt skips String
// when it reports a bad verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON encodes the secret as "******".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the secret as "******".
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalYAML encodes the secret as "******".
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// LogValue makes slog print "******".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
