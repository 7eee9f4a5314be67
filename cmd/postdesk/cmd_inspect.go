package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/postdesk/postdesk/intake/parse"
)

func cmdInspect(_ context.Context, a *app, args []string) int {
	fs := a.flags("inspect", "FILE...", "Parse mail files as postdesk would and print what it sees: addresses, subject,\n"+
		"threading ids, text, reply text, HTML, attachments, class and bounce details.")
	asJSON := fs.Bool("json", false, "print one JSON object per file (with its \"file\" name)")
	if !a.parse(fs, args) {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	for i, file := range fs.Args() {
		raw, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(a.stderr, "postdesk: %v\n", err)
			code = 1
			continue
		}
		// The parser holds the mail (its line ends normalised in place)
		// and the decoded parts, under twice the mail: keep the heap near
		// that rather than let it double again before the collector runs.
		debug.SetMemoryLimit(int64(len(raw))*2 + 8<<20)
		msg, err := parse.ParseOwned(raw) // raw is not needed afterwards
		if err != nil {
			fmt.Fprintf(a.stderr, "postdesk: %s: %v\n", file, err)
			code = 1
			continue
		}
		if *asJSON {
			err = enc.Encode(struct {
				File string `json:"file"`
				parse.Inspect
			}{file, msg.Inspect()})
		} else {
			if i > 0 {
				fmt.Fprintln(a.stdout)
			}
			fmt.Fprintf(a.stdout, "file: %s\n", file)
			err = msg.WriteText(a.stdout)
		}
		if err != nil {
			return a.fail("%v", err)
		}
	}
	return code
}
