package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// duration returns the Go duration under key (e.g. 30s, 1m30s), or def; it
// must be at least lo.
func (o *object) duration(key string, def, lo time.Duration) time.Duration {
	n, ok := o.scalar(key, "a duration")
	if !ok {
		return def
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		o.errf(key, "invalid duration %q: use a number with a unit, such as 30s, 5m or 1h30m", n.Value)
		return def
	}
	if v < lo {
		o.errf(key, "must be at least %s, got %s", lo, v)
		return def
	}
	return v
}

// number returns the number under key (an integer or a decimal such as
// 1.5), or def; it must lie in [lo, hi].
func (o *object) number(key string, def, lo, hi float64) float64 {
	n, ok := o.scalar(key, "a number")
	if !ok {
		return def
	}
	var v float64
	if (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&v) != nil {
		o.errf(key, "expected a number, got %q", n.Value)
		return def
	}
	if !(v >= lo && v <= hi) { // also NaN
		o.errf(key, "must be between %g and %g, got %g", lo, hi, v)
		return def
	}
	return v
}

// size returns the byte size under key (an integer or "25MiB"), or def; it
// must be positive.
func (o *object) size(key string, def int64) int64 {
	n, ok := o.scalar(key, "a size")
	if !ok {
		return def
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		o.errf(key, "%v", err)
		return def
	}
	if v <= 0 {
		o.errf(key, "must be more than 0 bytes")
		return def
	}
	return v
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// ParseSize parses a byte size: a whole number of bytes, optionally followed
// by a unit B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
// Units ignore case and may follow a space: "25MiB", "25 mib", "1000".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: use bytes or a whole number with KiB, MiB, GiB, KB, MB or GB", s)
	}
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit; use KiB, MiB, GiB, KB, MB or GB", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > (1<<62)/unit {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * unit, nil
}

// envName is what an `*_env` value must look like. Upper case only: a value
// that is not a plausible variable name may be the secret itself pasted into
// the file, and it must then not be echoed in a message.
var envName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// secret reads the variable name under key and resolves it through the
// environment. An unset or empty variable is a problem, unless secrets are
// optional for this load: then it is only listed.
func (o *object) secret(key string, required bool) (string, Secret) {
	name := o.envName(key, required)
	if name == "" {
		return "", ""
	}
	v := o.d.env(name)
	switch {
	case v != "":
	case o.d.secretsOptional:
		if !slices.Contains(o.d.missingSecrets, name) {
			o.d.missingSecrets = append(o.d.missingSecrets, name)
		}
	default:
		o.errf(key, "missing secret: environment variable %s is not set", name)
		o.d.secretProbs++
		if !slices.Contains(o.d.missingSecrets, name) {
			o.d.missingSecrets = append(o.d.missingSecrets, name)
		}
	}
	return name, Secret(v)
}

// envName returns the variable name under key when it is well formed.
func (o *object) envName(key string, required bool) string {
	var name string
	if required {
		name = o.required(key)
	} else {
		name = o.str(key)
	}
	if name == "" {
		return ""
	}
	if !envName.MatchString(name) {
		o.errf(key, "must name an environment variable (A-Z, 0-9, _), never hold the secret itself")
		return ""
	}
	return name
}

// abs makes p absolute, relative to the config file's directory.
func (d *decoder) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.dir, p)
}

// file returns the absolute path under key after checking that it names an
// existing file (dir false) or directory (dir true); "" when absent.
func (o *object) file(key string, dir bool) string {
	p := o.str(key)
	if p == "" {
		return ""
	}
	abs := o.d.abs(p)
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		o.errf(key, "%s does not exist", abs)
	case err != nil:
		o.errf(key, "cannot use %s: %v", abs, err)
	case dir && !fi.IsDir():
		o.errf(key, "%s is not a directory", abs)
	case !dir && fi.IsDir():
		o.errf(key, "%s is a directory, expected a file", abs)
	}
	return abs
}

// address returns the bare email address under key, "" when absent or bad.
func (o *object) address(key string, required bool) string {
	var s string
	if required {
		s = o.required(key)
	} else {
		s = o.str(key)
	}
	if s == "" {
		return ""
	}
	a, err := bareAddress(s)
	if err != nil {
		o.errf(key, "%v", err)
		return ""
	}
	return a
}

// bareAddress checks that s is one address without display name or angle
// brackets, as net/mail parses it.
func bareAddress(s string) (string, error) {
	if !strings.Contains(s, "@") {
		return "", fmt.Errorf("invalid email address %q: missing @", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("invalid email address %q: %s", s, strings.TrimPrefix(err.Error(), "mail: "))
	}
	if a.Name != "" || a.Address != s {
		return "", fmt.Errorf("invalid email address %q: write the bare address only, like %s", s, a.Address)
	}
	return a.Address, nil
}

// checkDomain accepts a DNS name: dot-separated labels of letters, digits
// and inner hyphens.
func checkDomain(s string) error {
	if len(s) > 253 {
		return fmt.Errorf("invalid domain %q: longer than 253 characters", s)
	}
	for _, label := range strings.Split(s, ".") {
		if !domainLabel.MatchString(label) {
			return fmt.Errorf("invalid domain %q", s)
		}
	}
	return nil
}

var domainLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// hostPort returns the host:port under key after checking its form. An
// empty host means every interface; port 0 lets the system choose.
func (o *object) hostPort(key string) string {
	s := o.str(key)
	if s == "" {
		return ""
	}
	if err := checkHostPort(s); err != nil {
		o.errf(key, "%v", err)
	}
	return s
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("invalid address %q: want host:port, such as 127.0.0.1:2525", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("invalid port in %q: want a number from 0 to 65535", s)
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback IP address,
// where plain-text protocols cannot be overheard.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// sizeWords is n bytes as a size the configuration accepts: "100MiB".
func sizeWords(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
