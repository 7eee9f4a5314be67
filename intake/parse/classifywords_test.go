package parse

import (
	"regexp"
	"strings"
	"testing"
)

// classifySamples are subjects and sender names the classifying
// expressions match, and ordinary ones that resemble them.
var classifySamples = []string{
	"Undeliverable: Re: invoice", "Mail delivery failed: returning message to sender",
	"Delivery Status Notification (Failure)", "DELIVERY FAILURE: User unknown", "Returned mail: see transcript",
	"Warning: message 1a2b3c delayed 24 hours", "[Bounced] hello", "  Rejected: meeting", "Message could not be sent",
	"failure notice", "Loop alert", "Nicht zustellbar: Rechnung", "Non remis : facture", "Échec de la remise",
	"Non recapitabile: fattura", "Onbestelbaar: factuur", "No se puede entregar: factura", "Não foi possível entregar",
	"Olevererbart: faktura", "Не доставлено: счёт", "未送达", "配信エラー", "Could'nt deliver", "couldnt deliver",
	"ERROR SENDING mail", "mail SYSTEM error", "mail has been BLOCKED", "delivery report", "Permanent delivery failure",
	"card 7 declined at checkout", "Re: your message", "Question about delivery times", "Returning customer",
	"Blocked card", "Unable to log in", "Ошибка", "", "Re: Re: Re: Fwd: order 4711", "De\u212aivery failed",
	"undeliveRable \u017fubject", "Undelivered Mail Returned to Sender", "Delayed: hello",
	"Automatic reply: Printer", "AutoReply: hello", "Auto-Antwort", "Out of Office: back Monday", "OOO until 3rd",
	"On vacation", "Vacation reply", "Abwesenheitsnotiz", "Réponse automatique", "Reponse automatique : absent",
	"Absent du bureau", "Respuesta automática", "Fuera de la oficina", "Risposta automatica", "Fuori ufficio",
	"Resposta automática", "Autosvar", "Frånvaro", "Afwezig", "Automatyczna odpowiedź", "Nieobecność", "Автоответ",
	"自動応答", "Otomatik yanıt", "Re: out of office", "\tout of THE office", "automobile insurance",
	"MAILER-DAEMON", "mailer_daemon", "Mail.Daemon", "postmaster", "Post-Master", "mail-delivery-system", "mdaemon",
	"MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e", "mailadmin", "customer-7", "Customer 7",
	"Mail Delivery Subsystem", "Mail Delivery System", "Mailer Daemon", "Mail Administrator", "System Administrator",
	"Delivery Status Notification", "Microsoft Outlook", "Jane Postmaster", "Bank Support", "Mail\u017fystem",
}

func TestClassifyWords(t *testing.T) {
	for _, c := range []struct {
		name  string
		re    *regexp.Regexp
		words []string
	}{
		{"failSubject", failSubject, failSubjectWords},
		{"daemonLocal", daemonLocal, daemonLocalWords},
		{"daemonName", daemonName, daemonNameWords},
		{"autoReplySubject", autoReplySubject, autoReplySubjectWords},
	} {
		matched := 0
		for _, s := range classifySamples {
			checkClassifyWords(t, s)
			if c.re.MatchString(s) {
				matched++
			}
		}
		if matched < 5 {
			t.Errorf("%s matches only %d samples", c.name, matched)
		}
	}
	if matchASCIIWords(failSubject, "card 7 declined at checkout", failSubjectWords) ||
		!matchASCIIWords(failSubject, "Undeliverable: Re: invoice", failSubjectWords) {
		t.Error("matchASCIIWords misreads a plain case")
	}
}

func checkClassifyWords(t *testing.T, s string) {
	t.Helper()
	s = head(s, 1024)
	for _, c := range []struct {
		re    *regexp.Regexp
		words []string
	}{
		{failSubject, failSubjectWords}, {daemonLocal, daemonLocalWords},
		{daemonName, daemonNameWords}, {autoReplySubject, autoReplySubjectWords},
	} {
		for _, v := range []string{s, strings.ToUpper(s)} {
			if got, want := matchASCIIWords(c.re, v, c.words), c.re.MatchString(v); got != want {
				t.Errorf("matchASCIIWords(%s, %q) = %v, want %v", c.re, v, got, want)
			}
		}
	}
}

func FuzzClassifyWords(f *testing.F) {
	for _, s := range classifySamples {
		f.Add(s)
	}
	f.Fuzz(checkClassifyWords)
}
