package parse

import (
	"regexp"
	"strings"
)

// uuFile is one file found in uuencoded form.
type uuFile struct {
	name string
	data []byte
}

// uuBegin matches the "begin <mode> <name>" line that opens a uuencoded file.
var uuBegin = regexp.MustCompile(`^begin(?:-base64)? +[0-7]{3,4} +(.+?)\s*$`)

// uudecodeBlock decodes the first uuencoded file in body (a part sent with
// Content-Transfer-Encoding: x-uuencode).
func uudecodeBlock(body []byte) (uuFile, bool) {
	_, files := extractUuencoded(string(body))
	if len(files) == 0 {
		return uuFile{}, false
	}
	return files[0], true
}

// extractUuencoded finds "begin 644 name" ... "end" blocks in text (old
// clients put attachments right into the text body), decodes them and
// returns the text without them. A block without its "end" line is left in
// the text: cutting it could eat real prose.
func extractUuencoded(text string) (rest string, files []uuFile) {
	if !strings.Contains(text, "begin ") {
		return text, nil
	}
	lines := strings.SplitAfter(text, "\n")
	var out strings.Builder
	end := -1 // the next "end" line at or after i, cached so scans stay linear
	for i := 0; i < len(lines); i++ {
		m := uuBegin.FindStringSubmatch(strings.TrimRight(lines[i], "\r\n"))
		if m == nil {
			out.WriteString(lines[i])
			continue
		}
		if end <= i {
			end = len(lines)
			for j := i + 1; j < len(lines); j++ {
				if strings.TrimRight(lines[j], " \t\r\n") == "end" {
					end = j
					break
				}
			}
		}
		if end == len(lines) {
			out.WriteString(lines[i])
			continue
		}
		var data []byte
		valid := true
		for _, l := range lines[i+1 : end] {
			b, ok := uudecodeJoined(strings.TrimRight(l, "\r\n"))
			if !ok {
				valid = false
				break
			}
			data = append(data, b...)
		}
		if !valid {
			out.WriteString(lines[i])
			continue
		}
		files = append(files, uuFile{name: m[1], data: data})
		i = end
	}
	return out.String(), files
}

// uudecodeJoined decodes a line of uuencoded data that may be two or more
// data lines joined into one. A text part labelled quoted-printable that
// was never encoded so reads a data line ending in "=" as a soft line
// break: the "=" and the line break go, and the file would come out a line
// short. A line longer than its length character allows, whose rest reads
// as a data line of its own, is split there and the "=" put back.
func uudecodeJoined(l string) ([]byte, bool) {
	var out []byte
	for {
		full := uuLineLen(l)
		if full < 0 || len(l) <= full+1 || !plausibleUULine(l[full-1:]) {
			b, ok := uudecodeLine(l)
			return append(out, b...), ok
		}
		b, ok := uudecodeLine(l[:full-1] + "=")
		if !ok {
			return nil, false
		}
		out = append(out, b...)
		l = l[full-1:]
	}
}

// uuLineLen returns how long a full data line with l's length character
// is, or -1 for a line that carries no bytes.
func uuLineLen(l string) int {
	if l == "" {
		return -1
	}
	n := int((l[0] - ' ') & 63)
	if n == 0 {
		return -1
	}
	return 1 + (n+2)/3*4
}

// plausibleUULine reports a line whose length fits its length character
// (a character short for a trimmed blank, one more for a checksum), or
// that is such lines joined.
func plausibleUULine(l string) bool {
	for {
		full := uuLineLen(l)
		switch {
		case full < 0:
			return false
		case len(l) >= full-1 && len(l) <= full+1:
			return true
		case len(l) < full-1:
			return false
		}
		l = l[full-1:]
	}
}

// uudecodeLine decodes one line of uuencoded data. The first character
// gives the byte count; "`" and " " both stand for zero.
func uudecodeLine(l string) ([]byte, bool) {
	if l == "" {
		return nil, true
	}
	n := int((l[0] - ' ') & 63)
	if n == 0 {
		return nil, true
	}
	body := l[1:]
	if len(body) < (n+2)/3*4-1 {
		// Some encoders trim trailing blanks; pad them back.
		body += strings.Repeat(" ", (n+2)/3*4-len(body))
	}
	out := make([]byte, 0, n)
	for i := 0; i < len(body) && len(out) < n; i += 4 {
		var q [4]byte
		for k := range 4 {
			c := byte(' ')
			if i+k < len(body) {
				c = body[i+k]
			}
			if c < ' ' || c > '`' {
				return nil, false
			}
			q[k] = (c - ' ') & 63
		}
		out = append(out, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
	}
	if len(out) < n {
		return nil, false
	}
	return out[:n], true
}
