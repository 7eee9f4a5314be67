package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInspectPeakMemory: `postdesk inspect --json` of a 43 MB mail took
// 1.93 GB. The real binary now reads a mail of 24 MiB of text, an HTML part
// and a 12 MiB file with a peak resident memory under three times the
// mail's size, as the kernel counts it for the process (rusage maxrss).
func TestInspectPeakMemory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.eml")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	// Written as it is made: the kernel counts the test process's own
	// memory into the child's peak (the child starts as a copy of it).
	w := bufio.NewWriter(f)
	w.WriteString("From: Jane Doe <jane@user.com>\r\nTo: outage@bank.example\r\nSubject: the logs\r\n" +
		"Message-ID: <big@user.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for range (24 << 20) / 90 {
		w.WriteString("2026-12-07 09:00:00 lb-02 health check failed: HTTP 404 from https://online.bank.example/\r\n")
	}
	w.WriteString("--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>")
	for range 20000 {
		w.WriteString("<p>lb-02 health check failed</p>\r\n")
	}
	w.WriteString("</body></html>\r\n--b2--\r\n--b1\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Disposition: attachment; filename=\"core.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDRA", 12) + "QUJD\r\n" // 76 characters of base64
	for range (12 << 20) / 57 {
		w.WriteString(line)
	}
	w.WriteString("--b1--\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	size := st.Size()

	cmd := exec.Command(binary, "inspect", "--json", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		t.Fatalf("inspect: %v", err)
	}
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // kB on Linux
	t.Logf("%d MiB mail: inspect --json peak RSS %d MiB (%.1f times the mail)", size>>20, peak>>20, float64(peak)/float64(size))
	if peak > 3*size {
		t.Errorf("inspect --json of a %d MiB mail peaked at %d MiB, more than three times its size", size>>20, peak>>20)
	}
}
