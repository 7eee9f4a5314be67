package templates

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current templates")

// TestGolden renders every default notice with the sample data, complete and
// sparse, and compares subject, text and HTML with testdata/NAME.golden.
func TestGolden(t *testing.T) {
	set, err := Default()
	if err != nil {
		t.Fatalf("default templates: %v", err)
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			for _, v := range []struct {
				label string
				data  Data
			}{{"complete", Sample(name)}, {"sparse", sparse(name)}} {
				r, err := set.Render(name, "", v.data)
				if err != nil {
					t.Fatalf("%s: %v", v.label, err)
				}
				b.WriteString("===== " + v.label + " subject\n" + r.Subject + "\n")
				b.WriteString("===== " + v.label + " text\n" + r.Text)
				b.WriteString("===== " + v.label + " html\n" + r.HTML)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./templates -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("%s differs from the rendering:\n%s", path, diff(string(want), got))
			}
		})
	}
}

// diff shows the first differing line of two texts with some context.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(no line differs)"
}
