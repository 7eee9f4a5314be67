package parse

import (
	"strconv"
	"strings"
	"time"
)

// parseDate reads a Date value. RFC 5322 dates are the norm, but mail also
// carries comments, missing weekdays or seconds, two-digit years, named or
// missing zones, ISO 8601 and asctime forms, 12-hour clocks. The value is
// read token by token; it fails (zero time) only when no day, month and
// year can be found.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	s = stripComments(s)
	var (
		day, month, year = -1, -1, -1
		hour, min, sec   = 0, 0, 0
		haveTime         bool
		offset           int
		pm, am           bool
	)
	tokens := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	for _, tok := range tokens {
		lt := strings.ToLower(strings.TrimSuffix(tok, "."))
		switch {
		case strings.Count(tok, ":") >= 1 && !haveTime && isDigit(tok[0]):
			h, m, sc, ok := parseClock(tok)
			if !ok {
				return time.Time{}, false
			}
			hour, min, sec, haveTime = h, m, sc, true
			// "10:00:00+0200" glued zone
			if i := strings.IndexAny(tok, "+-"); i > 0 {
				if off, ok := parseZone(tok[i:]); ok {
					offset = off
				}
			}
		case strings.Count(tok, "-") == 2 && isDigit(tok[0]) && len(tok) >= 8:
			// 2006-01-02 or 02-Jan-2006
			parts := strings.Split(tok, "-")
			month = monthNumber(parts[1])
			if n, err := strconv.Atoi(parts[1]); err == nil {
				month = n
			}
			if y, err := strconv.Atoi(parts[0]); err == nil && len(parts[0]) == 4 {
				year = y
				day, _ = strconv.Atoi(parts[2])
			} else {
				day, _ = strconv.Atoi(parts[0])
				year, _ = strconv.Atoi(parts[2])
			}
		case lt == "pm":
			pm = true
		case lt == "am":
			am = true
		case tok[0] == '+' || (tok[0] == '-' && len(tok) > 1 && isDigit(tok[1])):
			if off, ok := parseZone(tok); ok {
				offset = off
			}
		case monthNumber(lt) > 0:
			month = monthNumber(lt)
		case isAllDigits(tok):
			n, _ := strconv.Atoi(tok)
			switch {
			case len(tok) == 4 && year < 0:
				year = n
			case day < 0 && n >= 1 && n <= 31 && len(tok) <= 3:
				day = n
			case year < 0:
				year = n
			}
		default:
			if off, ok := zoneNames[strings.ToUpper(strings.Trim(tok, "()\""))]; ok {
				offset = off
			} else if off, ok := parseZone(strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(tok), "GMT"), "UTC")); ok {
				offset = off
			}
		}
	}
	if day < 1 || day > 31 || month < 1 || month > 12 || year < 0 || year > 9999 {
		return time.Time{}, false
	}
	switch {
	case year < 50:
		year += 2000
	case year < 1000:
		year += 1900
	}
	if pm && hour < 12 {
		hour += 12
	}
	if am && hour == 12 {
		hour = 0
	}
	if hour > 23 || min > 59 || sec > 60 {
		return time.Time{}, false
	}
	if sec == 60 {
		sec = 59 // leap second
	}
	loc := time.FixedZone("", offset)
	t := time.Date(year, time.Month(month), day, hour, min, sec, 0, loc)
	if t.Day() != day {
		return time.Time{}, false // 31 February and the like
	}
	return t, true
}

// parseClock reads hh:mm[:ss], ignoring a glued zone suffix.
func parseClock(tok string) (h, m, s int, ok bool) {
	if i := strings.IndexAny(tok, "+-Zz"); i > 0 {
		tok = tok[:i]
	}
	parts := strings.Split(tok, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	vals := make([]int, 3)
	for i, p := range parts {
		if p == "" || !isAllDigits(p) || len(p) > 2 {
			return 0, 0, 0, false
		}
		vals[i], _ = strconv.Atoi(p)
	}
	return vals[0], vals[1], vals[2], true
}

// parseZone reads +hhmm, -hhmm, +hh:mm or +hh.
func parseZone(tok string) (int, bool) {
	if len(tok) < 2 || (tok[0] != '+' && tok[0] != '-') {
		return 0, false
	}
	sign := 1
	if tok[0] == '-' {
		sign = -1
	}
	d := strings.ReplaceAll(tok[1:], ":", "")
	if !isAllDigits(d) {
		return 0, false
	}
	var h, m int
	switch len(d) {
	case 1, 2:
		h, _ = strconv.Atoi(d)
	case 4:
		h, _ = strconv.Atoi(d[:2])
		m, _ = strconv.Atoi(d[2:])
	default:
		return 0, false
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// zoneNames are the zone abbreviations seen in mail (RFC 5322 obs-zone plus
// common ones); anything else counts as UTC.
var zoneNames = map[string]int{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 3600,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"CET": 3600, "CEST": 7200, "MET": 3600, "MEST": 7200, "EET": 7200, "EEST": 10800,
	"JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "IST": 19800,
}

func monthNumber(s string) int {
	if len(s) < 3 {
		return 0
	}
	switch strings.ToLower(s[:3]) {
	case "jan":
		return 1
	case "feb":
		return 2
	case "mar":
		return 3
	case "apr":
		return 4
	case "may":
		return 5
	case "jun":
		return 6
	case "jul":
		return 7
	case "aug":
		return 8
	case "sep":
		return 9
	case "oct":
		return 10
	case "nov":
		return 11
	case "dec":
		return 12
	}
	return 0
}

// stripComments removes "(...)" comments, which may nest.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAllDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
