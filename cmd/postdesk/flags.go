package main

import (
	"flag"
	"fmt"
	"strings"
)

// Every subcommand parses its command line here, so that flags work
// wherever people type them: "ticket show 12 --config f.yaml" as well as
// "ticket show --config f.yaml 12" or "postdesk --config f.yaml ticket show 12".
// The standard flag package stops at the first positional argument; a flag
// after it would silently become an argument (or, worse, be ignored).

// flags returns a flag set that prints its usage to stderr and knows --config.
func (a *app) flags(name, argsUsage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("postdesk "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.configPath, "config", "", "configuration `file` (default $POSTDESK_CONFIG or ./postdesk.yaml)")
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: postdesk %s [options] %s\n\n%s\n\nOptions:\n", name, argsUsage, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, flags anywhere among them, and reports whether the
// command should go on. An unknown flag prints the command's usage; the
// command then exits 2.
func (a *app) parse(fs *flag.FlagSet, args []string) bool {
	return fs.Parse(flagsFirst(fs, args)) == nil
}

// flagsFirst moves the flags among args in front of the positional
// arguments, keeping the order of each, so that the flag package sees them
// all. A flag that takes a value keeps the argument after it; "--" ends the
// flags and everything after it is positional, even when it starts with "-".
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !isFlag(arg) {
			pos = append(pos, arg)
			continue
		}
		flags = append(flags, arg)
		if takesValue(fs, arg) && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if len(pos) == 0 {
		return flags
	}
	// "--" keeps a positional "-x" (after a real "--") from being read as a flag.
	return append(append(flags, "--"), pos...)
}

// isFlag reports whether arg looks like a flag; "-" alone is an argument
// (standard input).
func isFlag(arg string) bool {
	return len(arg) > 1 && arg[0] == '-'
}

// takesValue reports whether flag arg, known to fs, is given without "="
// and takes its value from the next argument. Unknown flags take none: the
// flag package refuses them anyway.
func takesValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	bf, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !bf.IsBoolFlag()
}

// splitSub returns the subcommand name of a command with subcommands
// ("ticket show", "mailbox test") and the remaining arguments. The name is
// the first argument that is not a flag; --config (the one flag every
// subcommand knows) may come before it with its value.
func splitSub(args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return "", args
		}
		if !isFlag(arg) {
			rest := append(append([]string{}, args[:i]...), args[i+1:]...)
			return arg, rest
		}
		if name := strings.TrimLeft(arg, "-"); name == "config" {
			i++ // its value
		}
	}
	return "", args
}

// globalFlags moves a --config given before the command name to just after
// it: "postdesk --config f.yaml ticket show 12". It returns args unchanged
// when they do not start with --config.
func globalFlags(args []string) []string {
	var lead []string
	for len(args) > 0 {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !isFlag(args[0]) || name != "config" {
			break
		}
		n := 1
		if !hasValue && len(args) > 1 {
			n = 2
		}
		lead, args = append(lead, args[:n]...), args[n:]
	}
	if len(lead) == 0 || len(args) == 0 {
		return append(lead, args...)
	}
	return append(append([]string{args[0]}, lead...), args[1:]...)
}
