package mailer

// maxReferences bounds the References field: the first id (the root of
// the conversation) and the most recent ones are what clients thread by.
const maxReferences = 20

// A notice continues the conversation as its recipient has it in their
// mailbox (ticket.Store.ThreadIDs: the ticket's first message, the
// messages they wrote, the notices already sent or queued to them).
// Chaining it to them (In-Reply-To: the last one; References: all of them)
// makes Gmail, Outlook and Apple Mail show one conversation.

// threadOf keeps the ids worth repeating in a header, each once.
func threadOf(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if validID(id) && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// trimReferences keeps the first id and the newest ones.
func trimReferences(ids []string) []string {
	if len(ids) <= maxReferences {
		return ids
	}
	return append([]string{ids[0]}, ids[len(ids)-maxReferences+1:]...)
}

// validID reports whether id can go between angle brackets in a header:
// printable ASCII without spaces or brackets. Stored ids come from other
// people's mail and are checked before they are repeated.
func validID(id string) bool {
	if id == "" || len(id) > 250 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}
