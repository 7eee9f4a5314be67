package reply

import (
	"strings"
	"testing"
	"unicode"
)

// lettersOnly is the plain definition hasSeparatorKey must agree with: the
// letters of s, lower-cased.
func lettersOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

func TestHasSeparatorKey(t *testing.T) {
	for _, s := range []string{
		"", Separator, "> " + Separator, "##- Please type your reply above this",
		"PLEASE TYPE YOUR REPLY ABOVE THIS LINE", "Please-type-your-reply-above-this-line!",
		"pleasepleasetypeyourreplyabovethisline", "Please type your reply\u00a0above this l\u0130ne",
		"please type your re ply above thi s line 2", "pleasetypeyourreplyabovethislin",
		"Ple\xffase type your reply above this line", "ΠPlease type your reply above this line",
		"please type your reply above th\u212a line", "please type your reply above this \u212aine",
	} {
		want := strings.Contains(lettersOnly(s), separatorKey)
		if got := hasSeparatorKey(s); got != want {
			t.Errorf("hasSeparatorKey(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzHasSeparatorKey(f *testing.F) {
	f.Add(Separator)
	f.Add("pleasepleasetypeyourreplyabovethisline")
	f.Add("ppleasetypeyourreplyabovethislinee")
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.Contains(lettersOnly(s), separatorKey)
		if got := hasSeparatorKey(s); got != want {
			t.Errorf("hasSeparatorKey(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestSeparatorLetters checks what hasSeparatorKey's shortcut relies on:
// no letter but 'B', 'V', 'Y' and their lower case lower-cases to 'b', 'v'
// or 'y', and the key holds all three.
func TestSeparatorLetters(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !unicode.IsLetter(r) {
			continue
		}
		switch l := unicode.ToLower(r); l {
		case 'b', 'v', 'y':
			if r != l && r != l-'a'+'A' {
				t.Errorf("%U lower-cases to %q", r, l)
			}
		}
	}
	for _, c := range "bvy" {
		if !strings.ContainsRune(separatorKey, c) {
			t.Errorf("separatorKey has no %q", c)
		}
	}
}
