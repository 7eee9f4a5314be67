package reply

import (
	"strings"
	"testing"
)

// signatureSamples are device signatures and lines that resemble them.
var signatureSamples = []string{
	"Sent from my iPhone", "Sent from my Samsung Galaxy smartphone.", "Sent with BlackBerry Work",
	"Von meinem iPhone gesendet", "Envoyé de mon iPad", "Enviado desde mi móvil", "Get Outlook for iOS",
	"Holen Sie sich Outlook für Android", "From my Android phone", "via mobile", "Someone from mobile",
	"Typed on a tiny keyboard", "Sent from Mail for Windows", "Mit Handy VERSCHICKT", "Gesendet von Handy",
	"从我的 iPhone 发送", "寄自我的 iPhone", "Sent: Tuesday, March 12", "my card was declined when I tried to pay online",
	"Thanks,", "Customer 7", "(Sent from my phone)", "*Sent from my iPhone*", "SENT FROM MY IPHONE",
	"sent\tfrom my\vdevice", "Jane from\u00a0mobile", "This message was sent from outlook on ios",
	"..sent.. from my verylongdevicenameeeeeeeeeeee", "von meinem xxxxxxxxxxxxxxxxxxxxxxxxxxxxx-gesendet",
}

// TestMaySignASCII: the prefilter never rejects a line the full check
// accepts, and it does reject ordinary text.
func TestMaySignASCII(t *testing.T) {
	for _, line := range signatureSamples {
		checkSignaturePrefilter(t, line)
	}
	if maySignASCII("my card was declined when I tried to pay online") {
		t.Error("maySignASCII accepts an ordinary sentence")
	}
	if !isMobileSignature("Sent from my iPhone") || !isMobileSignature("Get Outlook for iOS") {
		t.Error("isMobileSignature misses a device signature")
	}
}

func checkSignaturePrefilter(t *testing.T, line string) {
	t.Helper()
	s := strings.Trim(strings.TrimSpace(line), "()<>[]*_-~ \t")
	if s == "" {
		return
	}
	if isTrimmedMobileSignature(s) && !maySignASCII(s) {
		t.Errorf("maySignASCII(%q) = false, but it is a mobile signature", s)
	}
}

func FuzzMaySignASCII(f *testing.F) {
	for _, s := range signatureSamples {
		f.Add(s)
	}
	f.Fuzz(checkSignaturePrefilter)
}
