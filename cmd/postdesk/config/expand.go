package config

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// envRef matches ${NAME} and ${NAME:-default} in values.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces environment references in every scalar value, so that
// one file can serve several places (the compose file points the example's
// loopback addresses at its containers this way). A reference to an unset
// variable without a default is a problem. Secrets still belong in *_env keys.
func (d *decoder) expandEnv(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && envRef.MatchString(n.Value) {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := d.env(m[1]); v != "" {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			d.add(n, "", "environment variable %s is not set (write ${%s:-default} to give a default)", m[1], m[1])
			return ""
		})
		if n.Style == 0 {
			n.Tag = "" // plain scalars are typed again from the new text
		}
	}
	for _, c := range n.Content {
		d.expandEnv(c)
	}
}
