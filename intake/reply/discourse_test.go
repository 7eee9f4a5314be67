package reply

import (
	"path/filepath"
	"strings"
	"testing"
)

// Minimum pass counts reached on the discourse corpus; a regression fails.
const (
	discourseMinVisible  = 43
	discourseMinElided   = 43
	discourseMinEmbedded = 6
)

func TestDiscourseCorpus(t *testing.T) {
	dir := corpusDir(t, "discourse-email_reply_trimmer")
	files, err := filepath.Glob(filepath.Join(dir, "emails", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no discourse emails in %s (%v)", dir, err)
	}
	var visOK, elOK, embOK, embTotal int
	for _, f := range files {
		name := filepath.Base(f)
		in := readFile(t, f)
		wantVis := strings.TrimSpace(readFile(t, filepath.Join(dir, "trimmed", name)))
		wantEl := strings.TrimSpace(readFile(t, filepath.Join(dir, "elided", name)))
		vis, el := Trim(in)
		if vis == wantVis {
			visOK++
		} else {
			t.Logf("visible mismatch %s:\n--- got\n%s\n--- want\n%s", name, vis, wantVis)
		}
		if el == wantEl {
			elOK++
		} else {
			t.Logf("elided mismatch %s:\n--- got\n%s\n--- want\n%s", name, el, wantEl)
		}
		wantEmb, ok := optionalFile(t, filepath.Join(dir, "embedded", name))
		if !ok {
			continue
		}
		embTotal++
		wantBefore := strings.TrimSpace(readFile(t, filepath.Join(dir, "before", name)))
		before, emb := ExtractEmbedded(in)
		if strings.TrimSpace(before) == wantBefore && strings.TrimSpace(emb) == strings.TrimSpace(wantEmb) {
			embOK++
		} else {
			t.Logf("embedded mismatch %s:\n--- got before\n%s\n--- got embedded\n%s\n--- want before\n%s\n--- want embedded\n%s",
				name, before, emb, wantBefore, strings.TrimSpace(wantEmb))
		}
	}
	t.Logf("discourse visible: %d of %d", visOK, len(files))
	t.Logf("discourse elided: %d of %d", elOK, len(files))
	t.Logf("discourse embedded: %d of %d", embOK, embTotal)
	if visOK < discourseMinVisible || elOK < discourseMinElided || embOK < discourseMinEmbedded {
		t.Errorf("regression: visible %d (min %d), elided %d (min %d), embedded %d (min %d)",
			visOK, discourseMinVisible, elOK, discourseMinElided, embOK, discourseMinEmbedded)
	}
}
