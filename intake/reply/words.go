package reply

import (
	"regexp"
	"strings"
)

// The language knowledge of the trimmer lives in this file. Adding a
// language means adding words here, not rules.

// onWords open an attribution before its date: "On Mon, …", "Am 03.02.2016 …".
// They are matched case-sensitively: generated attributions are capitalised,
// and "on …" in running text is far more common.
var onWords = []string{
	"On", "At", "Quoting", // English
	"Am", "Zitat von", // German
	"Le",            // French
	"El",            // Spanish
	"Em", "Citando", // Portuguese
	"Il",              // Italian ("Il giorno …")
	"Op",              // Dutch
	"Den", "På", "D.", // Scandinavian
	"W dniu", "Dnia", // Polish
	"Dne",    // Czech
	"В", "У", // Russian, Ukrainian
	"在", // Chinese
}

// quotingWords open webmail attributions that have no "wrote" word:
// "Quoting Jane <jane@example.com>:" (Horde, SquirrelMail).
var quotingWords = []string{"Quoting ", "Zitat von ", "Citando ", "Cytuję ", "Citation de "}

// wroteWords close an attribution ("… wrote:") or, in German, Dutch and the
// Scandinavian languages, stand inside it ("… schrieb Jane <…>:").
var wroteWords = []string{
	"wrote", "writes", "schrieb", "geschrieben", "a écrit", "a ecrit", "escribió", "escribio",
	"escreveu", "ha scritto", "scrisse", "schreef", "skrev", "skrifaði", "kirjoitti", "napisał",
	"napisała", "napisal", "pisze", "napsal", "napsala", "написал", "написала", "написав", "пишет",
	"пише", "yazdı", "írta", "έγραψε", "a scris",
}

// cjkWroteWords need no space before them.
var cjkWroteWords = []string{"写道", "寫道", "작성", "書きました", "のメッセージ"}

// hspace is any whitespace, including no-break and other Unicode spaces.
const hspace = `[\s\p{Zs}]`

var (
	// dateLead: "2016-03-03", "26.06.2014", "20 окт. 2016", "Thu, 26 Jun 2014",
	// "Feb 1, 2016", "2016年", "2016년", optionally after a weekday.
	dateLead = regexp.MustCompile(`^(?:\p{L}{2,12}\.?,?` + hspace + `+)?(?:` +
		`\d{1,4}[-./]\d{1,2}[-./]\d{1,4}` +
		`|\d{1,2}\.?` + hspace + `+\p{L}{3,12}\.?,?` + hspace + `+\d{4}` +
		`|\p{L}{3,12}\.?` + hspace + `+\d{1,2},?` + hspace + `+\d{4}` +
		`|\d{4}` + hspace + `*[年년])`)
	timeOfDay      = regexp.MustCompile(`\d{1,2}:\d{2}`)
	emailAddress   = regexp.MustCompile(`[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+`)
	leadingAddress = regexp.MustCompile(`^[\w.+\-]+@`)
	angleAddress   = regexp.MustCompile(`<` + hspace + `*[^<>\s]+@[^<>\s]+` + hspace + `*>`)
	gmtOffset      = regexp.MustCompile(`(?:GMT|UTC)` + hspace + `?[+-]\d`)
	// nameAddress: "Jane Doe <jane@example.com>" or a wrapped "Jane Doe <".
	nameAddress = regexp.MustCompile(`^["']?\p{L}[^<>@:]{0,60}<` + hspace + `*[^<>\s]*>?` + hspace + `*$`)
)

// forwardPhrases name the original/forwarded mail between rules of dashes:
// "-----Original Message-----", "---------- Forwarded message ---------".
var forwardPhrases = []string{
	"original message", "forwarded message", "forwarded mail", "forwarded e-mail",
	"ursprüngliche nachricht", "weitergeleitete nachricht", "original-nachricht", "originalnachricht",
	"message d'origine", "message original", "message transféré", "message d’origine",
	"mensaje original", "mensaje reenviado",
	"mensagem original", "mensagem encaminhada", "mensagem reencaminhada",
	"messaggio originale", "messaggio inoltrato",
	"oorspronkelijk bericht", "origineel bericht", "doorgestuurd bericht",
	"ursprungligt meddelande", "vidarebefordrat meddelande", "originalmeddelande",
	"opprinnelig melding", "videresendt melding", "original melding",
	"oprindelig meddelelse", "videresendt meddelelse", "original meddelelse",
	"alkuperäinen viesti", "välitetty viesti",
	"wiadomość oryginalna", "oryginalna wiadomość", "przekazana wiadomość", "wiadomość przekazana",
	"исходное сообщение", "пересылаемое сообщение", "пересланное сообщение", "оригинальное сообщение",
	"оригінальне повідомлення", "переслане повідомлення", "пересланий лист", "вихідне повідомлення",
	"původní zpráva", "přeposlaná zpráva", "původní e-mail",
	"原始邮件", "原始郵件", "转发邮件", "轉寄郵件", "原始信息",
	"元のメッセージ", "転送メッセージ", "転送されたメッセージ",
	"원본 메시지", "전달된 메시지",
	"orijinal mesaj", "özgün ileti", "iletilen mesaj", "iletilen ileti",
	"eredeti üzenet", "továbbított üzenet",
}

// beginForwardPhrases open Apple-style forwards: "Begin forwarded message:".
var beginForwardPhrases = []string{
	"begin forwarded message",
	"anfang der weitergeleiteten nachricht", "anfang der weitergeleiteten e-mail",
	"début du message réexpédié", "début du message transféré",
	"inicio del mensaje reenviado", "comienzo del mensaje reenviado",
	"início da mensagem reencaminhada", "início da mensagem encaminhada", "inicio da mensagem encaminhada",
	"inizio messaggio inoltrato",
	"begin doorgestuurd bericht", "begin van doorgestuurd bericht",
	"vidarebefordrat brev", "videresendt melding", "videresendt besked",
	"välitetty viesti alkaa",
	"początek przekazywanej wiadomości",
	"начало переадресованного сообщения", "начало пересылаемого сообщения",
	"začátek přeposlané zprávy",
	"以下是转发的邮件", "转发的邮件", "轉寄的郵件",
}

// headerKeys are the field names of header blocks that Outlook and webmail
// clients write above a quoted or forwarded mail.
var headerKeys = []string{
	"From", "Sent", "To", "Cc", "Bcc", "Subject", "Date", "Reply-To", "Sender",
	"Von", "Gesendet", "An", "Betreff", "Datum", "Kopie", "Antwort an",
	"De", "Envoyé", "Envoyé le", "À", "A", "Objet", "Répondre à",
	"Enviado", "Enviado el", "Enviado em", "Enviada em", "Para", "Asunto", "Fecha", "Assunto", "Data",
	"Da", "Inviato", "Oggetto",
	"Van", "Verzonden", "Aan", "Onderwerp",
	"Från", "Skickat", "Till", "Ämne", "Kopia",
	"Fra", "Sendt", "Til", "Emne", "Kopi", "Dato",
	"Lähettäjä", "Lähetetty", "Vastaanottaja", "Aihe", "Kopio", "Päivämäärä",
	"Od", "Wysłano", "Wysłane", "Do", "Temat", "DW",
	"От", "Отправлено", "Кому", "Тема", "Копия", "Дата",
	"Від", "Надіслано", "Копія",
	"Odesláno", "Komu", "Předmět",
	"发件人", "发送时间", "收件人", "主题", "抄送", "日期",
	"寄件者", "寄件日期", "傳送時間", "收件者", "主旨", "副本",
	"差出人", "送信日時", "宛先", "件名", "日付",
	"보낸 사람", "받는 사람", "보낸 날짜", "제목", "날짜", "참조",
	"Kimden", "Gönderen", "Gönderildi", "Kime", "Konu", "Tarih", "Bilgi",
	"Feladó", "Címzett", "Tárgy", "Elküldve", "Dátum",
}

// senderKeys are the header keys naming the sender. Every real header block
// has one; requiring it keeps form-like text ("Date: …\nTo: …\nSubject: …")
// from being taken for a quoted mail.
var senderKeys = []string{
	"From", "Sender", "Von", "De", "Da", "Van", "Från", "Fra", "Od", "От", "Від",
	"Lähettäjä", "发件人", "寄件者", "差出人", "보낸 사람", "Kimden", "Gönderen", "Feladó",
}

var senderKeySet = lowerSet(senderKeys)

// headerKeySet holds headerKeys in lower case for isHeader.
var headerKeySet = lowerSet(headerKeys)

func lowerSet(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[strings.ToLower(w)] = true
	}
	return m
}
