package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxMergeDepth bounds nested YAML merge keys (<<: *anchor) so that no input
// can make the decoder recurse without end.
const maxMergeDepth = 8

// decoder collects problems while the yaml.Node tree is turned into a Config.
// It never stops at the first problem: a user fixing a file wants them all.
type decoder struct {
	file  string              // path as given to Load, for messages
	dir   string              // absolute directory of the file; base of relative paths
	env   func(string) string // secret lookup
	probs []Problem
	refs  []ref // name references checked once every section is decoded
	// secretsOptional turns unset secrets from problems into mere entries
	// of missingSecrets (LoadOptions.SecretsOptional).
	secretsOptional bool
	missingSecrets  []string // unset secret variables, each once
	secretProbs     int      // problems that are unset secrets
}

// add records a problem located at n (nil: position unknown).
func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	p := Problem{File: d.file, Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.probs = append(d.probs, p)
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > maxMergeDepth {
			return nil
		}
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null (`key:` or `~`).
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	default:
		return "something else"
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// object is one YAML mapping whose keys have been checked against the
// schema. Getters report wrong types and return defaults, so decoding goes on.
type object struct {
	d    *decoder
	path string
	at   *yaml.Node            // where "missing key" problems point
	vals map[string]*yaml.Node // known key -> value node, aliases unresolved
}

// object checks mapping n against the known keys. A missing or null n gives
// an empty object whose missing-key problems point at at.
func (d *decoder) object(n, at *yaml.Node, path string, known []string) *object {
	o := &object{d: d, path: path, at: at, vals: map[string]*yaml.Node{}}
	r := resolve(n)
	if isNull(r) {
		return o
	}
	if r.Kind != yaml.MappingNode {
		d.add(n, path, "expected a mapping, got %s", describe(r))
		return o
	}
	o.at = n
	d.collect(o, r, known, 0)
	return o
}

// collect fills o.vals from mapping n. Keys written in n win over keys
// brought in by merge keys, as YAML's merge specification says.
func (d *decoder) collect(o *object, n *yaml.Node, known []string, depth int) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.add(k, o.path, "keys must be plain strings, got %s", describe(k))
			continue
		}
		kp := join(o.path, k.Value)
		if !slices.Contains(known, k.Value) {
			d.add(k, kp, "unknown key %q%s", k.Value, didYouMean(k.Value, known))
			continue
		}
		if _, dup := o.vals[k.Value]; dup {
			d.add(k, kp, "key %q is given twice", k.Value)
			continue
		}
		o.vals[k.Value] = v
	}
	for _, m := range merges {
		d.merge(o, m, known, depth)
	}
}

func (d *decoder) merge(o *object, m *yaml.Node, known []string, depth int) {
	r := resolve(m)
	if depth >= maxMergeDepth || r == nil {
		d.add(m, o.path, "merge keys nested too deeply")
		return
	}
	switch r.Kind {
	case yaml.MappingNode:
		sub := &object{d: d, path: o.path, vals: map[string]*yaml.Node{}}
		d.collect(sub, r, known, depth+1)
		for k, v := range sub.vals {
			if _, ok := o.vals[k]; !ok {
				o.vals[k] = v
			}
		}
	case yaml.SequenceNode:
		for _, item := range r.Content {
			d.merge(o, item, known, depth+1)
		}
	default:
		d.add(m, o.path, "merge key << needs a mapping, got %s", describe(r))
	}
}

// node returns the resolved value of key, or nil when absent.
func (o *object) node(key string) *yaml.Node { return resolve(o.vals[key]) }

// has reports whether key is present with a non-null value.
func (o *object) has(key string) bool { return !isNull(o.node(key)) }

// pos is where problems about key point: its value, or the mapping.
func (o *object) pos(key string) *yaml.Node {
	if n := o.vals[key]; n != nil {
		return n
	}
	return o.at
}

func (o *object) errf(key, format string, args ...any) {
	o.d.add(o.pos(key), join(o.path, key), format, args...)
}

// child decodes the mapping under key.
func (o *object) child(key string, known []string) *object {
	return o.d.object(o.vals[key], o.pos(key), join(o.path, key), known)
}

// list returns the items of the sequence under key (nil when absent).
func (o *object) list(key string) []*yaml.Node {
	n := o.node(key)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.errf(key, "expected a list, got %s", describe(n))
		return nil
	}
	return n.Content
}

// needList is list for a list that must have at least one item.
func (o *object) needList(key string) []*yaml.Node {
	n := o.node(key)
	if isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		o.errf(key, "at least one entry is required")
		return nil
	}
	return o.list(key)
}

// scalar returns the scalar under key; ok is false when absent, null or not
// a scalar (the last one reported).
func (o *object) scalar(key, want string) (*yaml.Node, bool) {
	n := o.node(key)
	if isNull(n) {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode {
		o.errf(key, "expected %s, got %s", want, describe(n))
		return nil, false
	}
	return n, true
}

// str returns the trimmed string under key, "" when absent.
func (o *object) str(key string) string {
	n, ok := o.scalar(key, "a string")
	if !ok {
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// required returns the string under key and reports it when missing or empty.
func (o *object) required(key string) string {
	n := o.node(key)
	if isNull(n) {
		o.errf(key, "missing required value")
		return ""
	}
	s := o.str(key)
	if s == "" && n.Kind == yaml.ScalarNode {
		o.errf(key, "must not be empty")
	}
	return s
}

// boolean returns the true/false under key, or def.
func (o *object) boolean(key string, def bool) bool {
	n, ok := o.scalar(key, "true or false")
	if !ok {
		return def
	}
	var b bool
	if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		o.errf(key, "expected true or false, got %q", n.Value)
		return def
	}
	return b
}

// integer returns the integer under key, or def; it must lie in [lo, hi].
func (o *object) integer(key string, def, lo, hi int) int {
	n, ok := o.scalar(key, "an integer")
	if !ok {
		return def
	}
	var v int64
	if n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		o.errf(key, "expected an integer, got %q", n.Value)
		return def
	}
	if v < int64(lo) || v > int64(hi) {
		o.errf(key, "must be between %d and %d, got %d", lo, hi, v)
		return def
	}
	return int(v)
}

// enum returns the value under key when it is one of allowed (ignoring
// case), or def.
func enum[T ~string](o *object, key string, def T, allowed ...T) T {
	n, ok := o.scalar(key, "a string")
	if !ok {
		return def
	}
	v := strings.ToLower(strings.TrimSpace(n.Value))
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if string(a) == v {
			return a
		}
		names[i] = string(a)
	}
	o.errf(key, "invalid value %q: must be one of %s%s", n.Value, strings.Join(names, ", "), didYouMean(v, names))
	return def
}
