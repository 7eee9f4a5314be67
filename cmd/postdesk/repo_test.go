package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// repoRoot is the repository, two levels above this package.
var repoRoot = filepath.Join("..", "..")

var (
	postdeskVar = regexp.MustCompile(`\bPOSTDESK_[A-Z0-9_]+\b`)
	getenvCall  = regexp.MustCompile(`(?:Getenv|LookupEnv|getenv)\("([A-Za-z_][A-Za-z0-9_]*)"\)`)
	yamlRef     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
	yamlEnvKey  = regexp.MustCompile(`_env:\s*([A-Z_][A-Z0-9_]*)`)
	tableName   = regexp.MustCompile("`([A-Z_][A-Z0-9_]*)`")
)

// passedThrough are variables the code hands on to a child process
// without reading them for itself, and NAME, the placeholder of the
// example's comment on ${NAME:-default}.
var passedThrough = map[string]bool{"PATH": true, "NAME": true}

// The README's table of environment variables names every one the code
// reads: os.Getenv and friends in any Go file, every POSTDESK_* name, and
// what the example configuration and the compose file refer to.
func TestEnvironmentTable(t *testing.T) {
	read := map[string][]string{} // variable → where it is read
	note := func(name, where string) {
		if !passedThrough[name] && !slices.Contains(read[name], where) {
			read[name] = append(read[name], where)
		}
	}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range postdeskVar.FindAllString(string(b), -1) {
			note(m, path)
		}
		for _, m := range getenvCall.FindAllStringSubmatch(string(b), -1) {
			note(m[1], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"examples/postdesk.yaml", "docker-compose.yml", "scripts/test"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range postdeskVar.FindAllString(string(b), -1) {
			note(m, file)
		}
		if strings.HasPrefix(file, "examples/") {
			for _, re := range []*regexp.Regexp{yamlRef, yamlEnvKey} {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					note(m[1], file)
				}
			}
		}
	}
	for _, name := range []string{"POSTDESK_CONFIG", "POSTDESK_DATABASE_URL", "POSTDESK_REPLY_SECRET", "GOGC"} {
		if read[name] == nil {
			t.Errorf("the scan finds no use of %s: is it broken?", name)
		}
	}

	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || strings.TrimSpace(cells[0]) != "" {
			continue
		}
		for _, m := range tableName.FindAllStringSubmatch(cells[1], -1) {
			inTable[m[1]] = true
		}
	}
	var missing []string
	for name, where := range read {
		if !inTable[name] {
			missing = append(missing, name+" (read in "+strings.Join(where, ", ")+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("README.md's environment table lacks:\n  %s", strings.Join(missing, "\n  "))
	}
}

// Every compose service comes back after a crash or a reboot; postdesk
// itself waits for PostgreSQL rather than exit, so the order they come up
// in does not matter.
func TestComposeServicesRestart(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Restart string `yaml:"restart"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	if len(compose.Services) == 0 {
		t.Fatal("no services in docker-compose.yml")
	}
	for name, s := range compose.Services {
		if s.Restart != "unless-stopped" {
			t.Errorf("service %s: restart %q, want unless-stopped", name, s.Restart)
		}
	}
}
