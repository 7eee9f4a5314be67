package reply

import (
	"strings"
	"testing"
)

// quoted is the history most tests put below the reply.
const quoted = "\n> Hello, how can we help?\n>\n> Support\n"

func TestTrimAttributions(t *testing.T) {
	tests := []struct{ name, attribution string }{
		{"english gmail", "On Tue, Mar 12, 2024 at 10:15 AM Jane Doe <jane@example.com> wrote:"},
		{"english wrapped", "On Tue, Mar 12, 2024 at 10:15 AM Jane Doe <\njane@example.com> wrote:"},
		{"english wrapped thrice", "On Tue, Mar 12, 2024 at 10:15 AM, Jane Doe\n<jane@example.com>\nwrote:"},
		{"outlook mailto wrapped", "On Tue, Mar 12, 2024 at 10:15 AM Jane Doe <\nmailto:jane@example.com> wrote:"},
		{"outlook link split", "On Tue, Mar 12, 2024 at 10:15 AM Jane Doe <jane@example.com<mailto:\njane@example.com>> wrote:"},
		{"outlook link thrice", "On Tue, Mar 12, 2024 at 10:15 AM Jane Doe <jane@example.com<MAILTO:\njane@example.com>>\nwrote:"},
		{"apple", "On 12 Mar 2024, at 10:15, Jane Doe <jane@example.com> wrote:"},
		{"german", "Am 12.03.2024 um 10:15 schrieb Max Mustermann <max@example.de>:"},
		{"german gmail", "Max Mustermann <max@example.de> schrieb am Di., 12. März 2024,\num 10:15:"},
		{"french", "Le mar. 12 mars 2024 à 10:15, Jean Dupont <jean@example.fr> a écrit :"},
		{"spanish", "El mar, 12 mar 2024 a las 10:15, Juan Pérez (<juan@example.es>) escribió:"},
		{"portuguese", "Em ter., 12 de mar. de 2024 às 10:15, João <joao@example.pt> escreveu:"},
		{"italian", "Il giorno mar 12 mar 2024 alle ore 10:15 Mario Rossi <mario@example.it> ha scritto:"},
		{"dutch", "Op di 12 mrt 2024 om 10:15 schreef Jan de Vries <jan@example.nl>:"},
		{"swedish", "Den tis 12 mars 2024 kl 10:15 skrev Sven Svensson <sven@example.se>:"},
		{"norwegian", "tir. 12. mar. 2024 kl. 10:15 skrev Ola Nordmann <ola@example.no>:"},
		{"danish", "Den 12. mar. 2024 kl. 10.15 skrev Lars Hansen <lars@example.dk>:"},
		{"finnish", "ti 12.3.2024 klo 10.15 Matti Meikäläinen <matti@example.fi> kirjoitti:"},
		{"polish", "W dniu 12.03.2024 o 10:15, Jan Kowalski <jan@example.pl> pisze:"},
		{"polish gmail", "wt., 12 mar 2024 o 10:15 Jan Kowalski <jan@example.pl> napisał(a):"},
		{"russian gmail", "вт, 12 мар. 2024 г. в 10:15, Иван Петров <ivan@example.ru>:"},
		{"russian", "12 марта 2024 г., в 10:15, Иван Петров <ivan@example.ru> написал(а):"},
		{"ukrainian", "вт, 12 бер. 2024 р. о 10:15 Іван Петренко <ivan@example.ua> пише:"},
		{"czech", "Dne út 12. 3. 2024 10:15 uživatel Jan Novák <jan@example.cz> napsal:"},
		{"chinese", "在 2024年3月12日 周二 10:15，张三 <zhang@example.cn> 写道："},
		{"japanese", "2024年3月12日(火) 10:15 山田太郎 <yamada@example.jp>:"},
		{"korean", "2024년 3월 12일 (화) 오전 10:15, 김철수 <kim@example.kr>님이 작성:"},
		{"turkish", "12 Mar 2024 Sal, 10:15 tarihinde Ahmet Yılmaz <ahmet@example.com.tr> şunu yazdı:"},
		{"yandex", "12.03.2024, 10:15, \"Иван Петров\" <ivan@example.ru>:"},
		{"bare name", "Jane Doe wrote:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := "Thanks, that fixed it.\n\n" + tc.attribution + "\n" + quoted
			vis, el := Trim(in)
			if vis != "Thanks, that fixed it." {
				t.Errorf("visible = %q", vis)
			}
			if !strings.Contains(el, "> Support") {
				t.Errorf("elided = %q, want the quote in it", el)
			}
		})
	}
}

func TestTrimHeaderBlocks(t *testing.T) {
	tests := []struct{ name, block string }{
		{"english", "From: Support <support@example.com>\nSent: Tuesday, March 12, 2024 10:15 AM\nTo: Jane Doe <jane@example.com>\nSubject: Re: [#42] Printer"},
		{"english bold", "*From:* Support <support@example.com>\n*Sent:* Tuesday, March 12, 2024 10:15 AM\n*To:* Jane Doe\n*Subject:* Printer"},
		{"german", "Von: Support <support@example.com>\nGesendet: Dienstag, 12. März 2024 10:15\nAn: Max <max@example.de>\nBetreff: AW: Drucker"},
		{"french", "De : Support <support@example.com>\nEnvoyé : mardi 12 mars 2024 10:15\nÀ : Jean <jean@example.fr>\nObjet : RE: Imprimante"},
		{"spanish", "De: Support <support@example.com>\nEnviado el: martes, 12 de marzo de 2024 10:15\nPara: Juan\nAsunto: RE: Impresora"},
		{"dutch", "Van: Support <support@example.com>\nVerzonden: dinsdag 12 maart 2024 10:15\nAan: Jan\nOnderwerp: RE: Printer"},
		{"swedish", "Från: Support <support@example.com>\nSkickat: den 12 mars 2024 10:15\nTill: Sven\nÄmne: SV: Skrivare"},
		{"norwegian", "Fra: Support <support@example.com>\nSendt: 12. mars 2024 10:15\nTil: Ola\nEmne: SV: Skriver"},
		{"polish", "Od: Support <support@example.com>\nWysłano: wtorek, 12 marca 2024 10:15\nDo: Jan\nTemat: RE: Drukarka"},
		{"russian", "От: Support <support@example.com>\nОтправлено: 12 марта 2024 г. 10:15\nКому: Иван\nТема: RE: Принтер"},
		{"original message", "-----Original Message-----\nFrom: Support\nSent: Tuesday\nSubject: Printer"},
		{"german original", "-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Dienstag\nBetreff: Drucker"},
		{"separator line", "________________________________\nFrom: Support <support@example.com>\nSent: Tuesday\nTo: Jane"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := "Thanks, that fixed it.\n\n" + tc.block + "\n\nHello, how can we help?\n\nSupport\n"
			if vis, _ := Trim(in); vis != "Thanks, that fixed it." {
				t.Errorf("visible = %q", vis)
			}
		})
	}
}

func TestTrimForwardMarkers(t *testing.T) {
	for _, marker := range []string{
		"---------- Forwarded message ---------",
		"-------- Original Message --------",
		"-----Message d'origine-----",
		"-----Mensaje original-----",
		"-----Исходное сообщение-----",
		"---------- Weitergeleitete Nachricht ----------",
		"Begin forwarded message:",
		"Anfang der weitergeleiteten Nachricht:",
		"------------------ 原始邮件 ------------------",
	} {
		t.Run(marker, func(t *testing.T) {
			in := "See below.\n\n" + marker + "\nThe printer is on fire.\n"
			vis, el := Trim(in)
			if vis != "See below." {
				t.Errorf("visible = %q", vis)
			}
			if !strings.HasPrefix(el, marker) {
				t.Errorf("elided = %q, want it to start with the marker", el)
			}
		})
	}
}

func TestTrimSignatures(t *testing.T) {
	for _, sig := range []string{
		"-- \nJane Doe\nACME Corp",
		"--\nJane",
		"-----\nJane Doe\nACME Corp",
		"-----\nJane Doe\nTel: +1 555 0100\nFax: +1 555 0101\nEmail: jane@example.com",
		"________________________________\nCONFIDENTIALITY NOTICE: This e-mail and any attachments are for the sole use of the intended recipient(s).",
		"==========\nACME Corp. | 1 Main St | Springfield\nhttps://acme.example",
		"Sent from my iPhone",
		"Sent from my Galaxy",
		"Sent from Mail for Windows",
		"Get Outlook for Android",
		"Get Outlook for iOS<https://aka.ms/o0ukef>",
		"Von meinem iPhone gesendet",
		"Envoyé de mon iPhone",
		"Enviado desde mi iPhone",
		"Enviado do meu iPhone",
		"Inviato da iPhone",
		"Verstuurd vanaf mijn iPhone",
		"Skickat från min iPhone",
		"Sendt fra min iPhone",
		"Lähetetty iPhonesta",
		"Wysłane z iPhone'a",
		"Отправлено с iPhone",
		"Надіслано з iPhone",
		"Odesláno z iPhonu",
		"iPhone'umdan gönderildi",
		"发自我的iPhone",
		"iPhoneから送信",
	} {
		t.Run(sig, func(t *testing.T) {
			vis, el := Trim("Works now, thanks.\n\n" + sig + "\n")
			if vis != "Works now, thanks." {
				t.Errorf("visible = %q", vis)
			}
			if el == "" {
				t.Error("elided is empty")
			}
		})
	}
}

// TestTrimKeepsText: ordinary text that looks a little like the things Trim
// cuts stays whole.
func TestTrimKeepsText(t *testing.T) {
	for _, in := range []string{
		"On Monday I will call you.\nThanks",
		"One question: does it work on Windows?\n\nJane",
		"On your server run:\n\n    telnet 127.0.0.1 25\n\nand tell me the output.",
		"Subject: my printer\nIt broke again.",
		"I sent it from the office yesterday.\nIt should arrive today.",
		"In his 2019 book, he wrote:\nprinters are hard.",
		"A fix -- not a signature -- is attached.\nBye",
		"- item one\n- item two\n\n    - nested",
		"2024-03-12 10:15:33 ERROR spool failed\n2024-03-12 10:15:34 INFO retrying",
		"| col a | col b |\n| 1 | 2 |",
		"Please see the original message below and answer.\nThanks",
		"Here is the error:\n-----\nTraceback: spool.c line 42\n-----\nCan you help?",
		"Date: 12 March\nTo: Berlin\nSubject: conference booking\nPlease confirm.",
		// Pasted code and logs below a rule, at the end of the mail.
		"It fails:\n\n-----\n2024-03-12 10:15:33 ERROR spool failed\n2024-03-12 10:15:34 ERROR giving up",
		"Log:\n\n--\n[ERROR] Failed to execute goal on project app",
		"Config:\n\n=====\nlisten_addresses = '*'\nport = 5432",
		"Got this:\n\n*****\njava.lang.NullPointerException\n\tat com.example.App.main(App.java:12)",
		"Query:\n\n    SELECT 1;\n    ----------\n",
	} {
		vis, el := Trim(in)
		if vis != strings.TrimSpace(in) || el != "" {
			t.Errorf("Trim(%q) = %q, elided %q; want it whole", in, vis, el)
		}
	}
}

func TestTrimLineEndings(t *testing.T) {
	want := "Works now.\n\nJane"
	for name, nl := range map[string]string{"LF": "\n", "CRLF": "\r\n", "CR": "\r"} {
		in := strings.ReplaceAll("Works now.\n\nJane\n\nOn Tue, Mar 12, 2024 at 10:15 AM Support <s@example.com> wrote:\n> Hi\n", "\n", nl)
		if vis, el := Trim(in); vis != want || el != "On Tue, Mar 12, 2024 at 10:15 AM Support <s@example.com> wrote:\n> Hi" {
			t.Errorf("%s: visible %q, elided %q", name, vis, el)
		}
	}
}

func TestTrimInlineAndBottomPost(t *testing.T) {
	bottom := "On Tue, Mar 12, 2024 at 10:15 AM Support <s@example.com> wrote:\n> Did it work?\n\nYes, it works now."
	if vis, _ := Trim(bottom); vis != "Yes, it works now." {
		t.Errorf("bottom-post: %q", vis)
	}
	inline := "Hi,\n\n> Which model?\n\nLaserJet 4.\n\n> Which driver?\n\nThe newest one.\n"
	if vis, _ := Trim(inline); vis != strings.TrimSpace(inline) {
		t.Errorf("inline reply: %q", vis)
	}
}

func TestTrimEmpty(t *testing.T) {
	for _, in := range []string{"", "   \n\n\t", "\r\n\r\n"} {
		if vis, el := Trim(in); vis != "" || el != "" {
			t.Errorf("Trim(%q) = %q, %q", in, vis, el)
		}
	}
}

// TestTrimOnlyHistory: a reply that adds nothing has no visible text.
func TestTrimOnlyHistory(t *testing.T) {
	for _, in := range []string{
		"On Tue, Mar 12, 2024 at 10:15 AM Support <s@example.com> wrote:\n\n> Did it work?\n",
		"> Did it work?\n>\n> Support",
		"\n\n-----Original Message-----\nFrom: Support\nSent: Tuesday\nTo: Jane\nSubject: Printer\n\n> Did it work?",
	} {
		if vis, el := Trim(in); vis != "" || !strings.Contains(el, "Did it work?") {
			t.Errorf("Trim(%q) = %q, elided %q", in, vis, el)
		}
	}
}

func TestTrimQuotingAttribution(t *testing.T) {
	in := "Fine.\n\nQuoting Support <s@example.com>:\n\n> Did it work?"
	if vis, _ := Trim(in); vis != "Fine." {
		t.Errorf("visible = %q", vis)
	}
}
