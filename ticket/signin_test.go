package ticket

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h := hashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "correct") {
		t.Errorf("hash %q", h)
	}
	if h == hashPassword("correct horse battery") {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		phc, password string
		ok            bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse battery ", false},
		{h, "", false},
		{strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false},
		{h[:strings.LastIndex(h, "$")], "correct horse battery", false},
		{h[:strings.LastIndex(h, "$")+1], "correct horse battery", false},
		{"", "", false},
	} {
		if got := passwordMatches(tc.phc, tc.password); got != tc.ok {
			t.Errorf("passwordMatches(%q, %q) = %v, want %v", tc.phc, tc.password, got, tc.ok)
		}
	}
}
