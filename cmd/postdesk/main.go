// Command postdesk is the email-driven help desk: one binary whose
// subcommands serve mail, migrate the database, check the configuration and
// let admins look at and work tickets.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand. run returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, a *app, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"serve":    {"receive mail and send notices until stopped", cmdServe},
		"migrate":  {"bring the database schema to the newest version", cmdMigrate},
		"config":   {"check a configuration file: config check FILE", cmdConfig},
		"ticket":   {"list, show and work tickets: ticket list|show|reply|note|assign|transfer|status|priority", cmdTicket},
		"agent":    {"sign agents in to the web console: agent link USERNAME|EMAIL, agent password USERNAME", cmdAgent},
		"version":  {"print the version", cmdVersion},
		"inspect":  {"show how postdesk reads mail files: inspect [--json] FILE...", cmdInspect},
		"mailbox":  {"check an IMAP mailbox's login or the SMTP relay: mailbox test NAME|--relay", cmdMailbox},
		"mail":     {"list, show and replay stored inbound mail: mail list|show|replay", cmdMail},
		"template": {"print a notice as it would be sent: template render NAME --ticket NUMBER", cmdTemplate},
		"send":     {"send a mail to an SMTP server (postdesk's listener by default)", cmdSend},
		"sink":     {"a development SMTP sink that saves and lists every mail it gets", cmdSink},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command line; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return runWith(ctx, args, nil, stdout, stderr, getenv)
}

// runWith is run with a standard input; nil means os.Stdin.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{in: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	args = globalFlags(args)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "postdesk: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(ctx, a, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: postdesk COMMAND [options]\n\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-9s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'postdesk COMMAND --help' for a command's options.")
	fmt.Fprintln(w, "The configuration file comes from --config, else $POSTDESK_CONFIG, else ./postdesk.yaml.")
}

func cmdVersion(_ context.Context, a *app, args []string) int {
	fs := a.flags("version", "", "Print postdesk's version.")
	if !a.parse(fs, args) {
		return 2
	}
	fmt.Fprintf(a.stdout, "postdesk %s\n", version)
	return 0
}
