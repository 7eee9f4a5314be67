package reply

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mobile and app signatures ("Sent from my iPhone", "Von meinem iPhone
// gesendet", "Get Outlook for Android") are recognised by shape: a short line
// that starts (or, in German and Turkish, ends) with a "sent" word and names
// a device or says "my". Listing every device is hopeless; the verb plus the
// possessive or a device word is what these lines have in common.

// sentFirst are "sent" participles that open a signature line.
var sentFirst = setOf(
	"sent", "typed", "posted", "composed", "written",
	"gesendet", "envoyé", "envoye", "enviado", "enviada", "inviato", "inviata",
	"verzonden", "verstuurd", "skickat", "skickad", "sendt", "lähetetty",
	"wysłane", "wysłano", "отправлено", "відправлено", "надіслано", "надослано",
	"odesláno", "odeslano", "poslano", "gönderildi",
)

// sentPrepositions must follow an English "sent": "Sent from/with/via …".
var sentPrepositions = setOf("from", "with", "via", "using", "on", "by", "through")

// sentLast are participles that close a signature ("Von meinem iPhone gesendet").
var sentLast = setOf("gesendet", "versendet", "verschickt", "gönderildi", "gönderilmiştir", "보냄", "발송됨")

// suffixOpeners may open a line that ends with one of sentLast.
var suffixOpeners = setOf("von", "vom", "mit", "über", "diese", "dieses", "나의", "내")

// myWords are first-person possessives ("Sent from my …").
var myWords = setOf(
	"my", "mon", "ma", "mi", "meu", "minha", "mio", "mia", "mijn", "min", "mitt", "mine",
	"mein", "meinem", "meiner", "mój", "mojego", "moim", "мой", "моего", "моём", "мого", "мій",
	"mého", "mém", "benim", "나의", "내",
)

// deviceWords name phones, tablets and mail apps (matched as substrings).
var deviceWords = []string{
	"iphon", "ipad", "ipod", "android", "blackberry", "mobile", "phone", "cell", "galaxy",
	"samsung", "htc", "nokia", "huawei", "xiaomi", "pixel", "motorola", "windows", "outlook",
	"mail", "tablet", "device", "handy", "mobil", "móvil", "movil", "celular", "telemóvel",
	"telefon", "телефон", "смартфон", "мобильн", "мобільн", "puhelin", "komórk", "smartfon",
	"mobiel", "k-9", "spark", "newton",
}

// cjkSent are Chinese/Japanese "sent from" forms ("從我的 iPhone 傳送").
var cjkSent = []string{"传送", "傳送", "发送", "發送", "发自", "發自", "寄自", "送信", "来自我的", "來自我的"}

// isMobileSignature reports an auto-appended device or app signature line.
func isMobileSignature(line string) bool {
	s := strings.Trim(strings.TrimSpace(line), "()<>[]*_-~ \t")
	if s == "" || moreRunes(s, 120) {
		return false
	}
	return maySignASCII(s) && isTrimmedMobileSignature(s)
}

// isTrimmedMobileSignature is isMobileSignature for a trimmed line of at
// most 120 runes.
func isTrimmedMobileSignature(s string) bool {
	low := strings.ToLower(s)
	words := strings.Fields(low)
	if len(words) == 0 || len(words) > 14 || strings.HasSuffix(words[0], ":") {
		// A colon after the first word makes it a header ("Gesendet: …").
		return false
	}
	device := containsAny(low, deviceWords)
	my := false
	for _, w := range words {
		if myWords[trimPunct(w)] {
			my = true
		}
	}
	first, last := trimPunct(words[0]), trimPunct(words[len(words)-1])
	switch {
	case first == "sent" || first == "typed" || first == "posted" || first == "composed" || first == "written":
		return len(words) > 2 && sentPrepositions[trimPunct(words[1])] && (device || my)
	case sentFirst[first]:
		return len(words) > 1 && (device || my)
	case sentLast[last] && (suffixOpeners[first] || containsAny(first, deviceWords) || myWords[first]):
		return device || my
	case (first == "from" || first == "via") && len(words) <= 6:
		// "From my iPhone 6", "via mobile"
		return device
	case len(words) >= 3 && len(words) <= 4 && (words[1] == "from" || words[1] == "via"):
		// "Someone from mobile"
		return containsAny(strings.Join(words[2:], " "), deviceWords)
	case strings.Contains(low, "outlook") && hasWordPrefix(words, "ios", "android"):
		// "Get Outlook for iOS", "Holen Sie sich Outlook für Android"
		return len(words) <= 12
	}
	if !moreRunes(s, 40) && containsAny(low, cjkSent) {
		return device || strings.Contains(s, "我的") || strings.Contains(s, "手机") ||
			strings.Contains(s, "手機") || strings.Contains(s, "携帯")
	}
	return false
}

func hasWordPrefix(words []string, prefixes ...string) bool {
	for _, w := range words {
		w = strings.TrimLeftFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
		for _, p := range prefixes {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
	}
	return false
}

func trimPunct(w string) string {
	return strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// maySignASCII is a cheap necessary condition for isTrimmedMobileSignature
// (s trimmed, at most 120 runes): it is false only for an ASCII line that
// none of the cases of isTrimmedMobileSignature can accept, because its
// first word (less punctuation) is no "sent" word, "from" or "via", its
// second word is not "from" or "via", its last word (less punctuation) is
// no closing "sent" word, and it does not say "outlook". Non-ASCII lines
// always pass.
func maySignASCII(s string) bool {
	var or byte
	for i := 0; i < len(s); i++ {
		or |= s[i]
	}
	if or >= utf8.RuneSelf {
		return true
	}
	// The words of strings.Fields: for ASCII, runs of bytes other than
	// the ASCII white space unicode.IsSpace accepts.
	first, rest := nextWord(s)
	second, _ := nextWord(rest)
	last := s
	for last != "" && asciiSpace(last[len(last)-1]) {
		last = last[:len(last)-1]
	}
	for k := len(last) - 1; k >= 0; k-- {
		if asciiSpace(last[k]) {
			last = last[k+1:]
			break
		}
	}
	// Words too long for buf are left to the full check.
	var buf [16]byte
	if w, ok := lowerWord(&buf, trimPunctASCII(first)); !ok || sentFirst[string(w)] || string(w) == "from" || string(w) == "via" {
		return true
	}
	if w, ok := lowerWord(&buf, second); !ok || string(w) == "from" || string(w) == "via" {
		return true
	}
	if w, ok := lowerWord(&buf, trimPunctASCII(last)); !ok || sentLast[string(w)] {
		return true
	}
	if strings.IndexByte(s, 'k') < 0 && strings.IndexByte(s, 'K') < 0 {
		return false // no "outlook"
	}
	low := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		low[i] = asciiLowerByte(s[i])
	}
	return bytes.Contains(low, []byte("outlook"))
}

// nextWord returns the first word of ASCII s and the text after it.
func nextWord(s string) (word, rest string) {
	i := 0
	for i < len(s) && asciiSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !asciiSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

// lowerWord returns ASCII w lower-cased in buf; ok is false when w does not
// fit.
func lowerWord(buf *[16]byte, w string) (lower []byte, ok bool) {
	if len(w) > len(buf) {
		return nil, false
	}
	for i := 0; i < len(w); i++ {
		buf[i] = asciiLowerByte(w[i])
	}
	return buf[:len(w)], true
}

func asciiLowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// asciiSpace reports the ASCII bytes unicode.IsSpace accepts.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// trimPunctASCII is trimPunct for ASCII text.
func trimPunctASCII(w string) string {
	alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
	for len(w) > 0 && !alnum(w[0]) {
		w = w[1:]
	}
	for len(w) > 0 && !alnum(w[len(w)-1]) {
		w = w[:len(w)-1]
	}
	return w
}
