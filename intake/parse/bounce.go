package parse

import (
	"regexp"
	"strings"

	"github.com/postdesk/postdesk/intake/reply"
)

// maxScan bounds how much body text the bounce heuristics read: the
// failure notice sits at the top; the returned message after it can be big.
const maxScan = 64 << 10

// Delivery-failure signals, learnt from the NDR formats of Postfix,
// Sendmail, Exim, qmail, Exchange/Office 365, Gmail, Yahoo, AOL, Courier,
// Lotus Notes, Amazon SES/WorkMail, Japanese carriers and others. None of
// them decides alone: each needs a second, independent signal (see
// detectBounce).
var (
	failSubject = regexp.MustCompile(`(?i)(undeliver|not deliver|non[- ]?deliver|delivery error|delivery status notification|delivery (status )?report` +
		`|delivery (failure|failed|problem|notification)|delivery has failed|fail(ed|ure) (delivery|notice)|mail delivery failed|mail failure` +
		`|returned (mail|to sender)|return(ed)? mail|could ?n[o']t (be )?deliver|could not send|error sending|mail system error` +
		`|message (not delivered|could not)|(mail|message|delivery) (has been )?(delayed|rejected|bounced|blocked)|^\W*(delayed|rejected|bounced)\b` +
		`|warning: message \S+ delayed|permanent (delivery )?failure|unable to deliver|loop alert|mail loop|mail error` +
		`|failed mail|mail failed|message not sent` +
		`|unzustellbar|nicht zustellbar|non remis|échec de (la )?remise|non recapitabile|onbestelbaar|no entregado|no se puede entregar` +
		`|não (foi )?possível entregar|olevererbar|не доставлено|未送达|退信` +
		`|メールエラー|エラー通知|配信エラー|送信エラー|配信でき|送信でき|配信不能|未配信|メッセージを配信)`)

	// failBody, returnedMarker and dsnInText run on asciiLower(text): the
	// case-folding matcher is several times slower on long bodies.
	failBody = regexp.MustCompile(`(could ?n[o']t be (delivered|reached)|was ?n[o']t delivered|was not delivered|could not deliver|unable to deliver` +
		`|can(no|')t be delivered|could not be (sent|forwarded)|(has|have) not been delivered|(was|were|has been) rejected` +
		`|undeliverable|delivery (has )?failed|delivery to the following recipient|permanent (fatal )?error|fatal errors?|temporary failure` +
		`|did not reach the following recipient|the following (address(es)?|recipients?) (failed|had|did not|was rejected|could not)` +
		`|following recipients was rejected|failed permanently|(user|recipient) (unknown|not found)|unknown (user|recipient)|no such (user|mailbox|recipient)` +
		`|mailbox (is )?(full|unavailable|not found|exceeds)|over quota|quota exceeded|recipient address rejected|host unknown|name service error` +
		`|i'm sorry to have to inform you|i'm afraid i wasn't able to deliver|this is the qmail-send program|this is the mail system at host` +
		`|transcript of session follows|unsent message follows|smtp error|remote host said|delivery problems|invalid (user|recipient) address` +
		`|not delivered within|retry timeout exceeded|message could not be delivered|error has occurred while attempting to deliver` +
		`|an error occurred while trying to deliver|failure reasons|\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b` +
		`|address not found|does not exist|message rejected|relay access denied|domain name not found|returned to sender` +
		`|送信できませんでした|配信できませんでした|送信に失敗|宛先不明|メールボックスが一杯|не удалось доставить|Не удалось доставить)`)

	// returnedMarker is the line MTAs put before the message they return.
	returnedMarker = regexp.MustCompile(`(?m)^[>\s]*(-+\s*)?(original message (follows|headers)|original mail as follows|unsent message follows` +
		`|below this line is a copy of the message|this is a copy of the message|the header of the original message|returned message` +
		`|included is a copy of the message|below is a copy of the original message|original message|message headers follow|original mail info` +
		`|rejected message)`)

	// dsnInText finds DSN fields printed into a text body (forwarded or
	// non-MIME reports).
	dsnInText = regexp.MustCompile(`(?m)^[>\s]*(final-recipient|original-recipient|diagnostic-code|reporting-mta)\s*:`)

	daemonLocal = regexp.MustCompile(`(?i)^(mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|post[-_.]master|mail[-_.]delivery[-_.]system` +
		`|mdaemon|microsoftexchange[0-9a-f]*|mail[-_.]?admin)$`)
	daemonName = regexp.MustCompile(`(?i)(mail deliver(y)? (sub)?system|mailer[- ]daemon|postmaster|mail administrator|system administrator` +
		`|mail system|delivery status|microsoft outlook|mail delivery)`)
)

// detectBounce decides whether m is a delivery report, and if so gathers
// what it can about the failed delivery.
//
// Decisive on their own: a multipart/report of delivery-status type or a
// message/delivery-status part (RFC 3464), X-Failed-Recipients (Exim,
// Gmail), an Amazon SES notification. Otherwise two independent signals
// are needed: a daemon or null sender with a failure subject or failure
// text (or, for the null sender, a returned message); or a failure subject
// with a returned message or DSN fields quoted in the text.
func (p *parser) detectBounce(m *Message, root *entity) (*BounceInfo, bool) {
	var dsn, original *entity
	structural := false
	rootReport := root.mediaType == "multipart/report" && isDeliveryReportType(root.params["report-type"])
	for _, e := range allEntities(root) {
		switch e.mediaType {
		case "multipart/report":
			if isDeliveryReportType(e.params["report-type"]) {
				structural = true
			}
		case "message/delivery-status", "message/global-delivery-status":
			structural = true
			if dsn == nil {
				dsn = e
			}
		case "message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers", "message/global-headers":
			if original == nil {
				original = e
			}
		}
	}
	text := m.Text
	if len(text) > maxScan {
		text = strings.ToValidUTF8(text[:maxScan], "")
	}
	ses := sesNotification(text)
	var lower string
	lowered := false
	lowerText := func() string {
		if !lowered {
			lower, lowered = asciiLower(text), true
		}
		return lower
	}
	var list *BounceInfo
	if listManagerMail(m) {
		notice := text
		if loc := returnedMarker.FindStringIndex(lowerText()); loc != nil {
			notice = text[:loc[0]]
		}
		list = p.listRejection(m, notice, original)
	}
	failedHeader := m.Header.Has("X-Failed-Recipients")
	if list == nil && !structural && ses == nil && !failedHeader && !heuristicBounce(m, lowerText, original != nil) {
		return nil, false
	}
	if list == nil && !rootReport && !failedHeader && writtenAboutBounce(m) {
		return nil, false
	}
	lower = lowerText()
	info := &BounceInfo{}
	switch {
	case ses != nil:
		info = ses
	case list != nil:
		info = list
	}
	if dsn != nil {
		fillFromDSN(info, p.decodedBody(dsn))
	}
	failure := text
	if loc := returnedMarker.FindStringIndex(lower); loc != nil {
		failure = text[:loc[0]]
	}
	if (info.Recipient == "" || info.Status == "") && dsnInText.MatchString(lower) {
		fillFromDSN(info, []byte(dsnLines(text)))
	}
	if info.OriginalMessageID == "" && original != nil {
		info.OriginalMessageID = headerMessageID(p.decodedBody(original))
	}
	if info.OriginalMessageID == "" {
		// The returned message's header comes after the failure notice (or
		// last in a forwarded report without a marker line).
		rest := text[len(failure):]
		if rest == "" {
			rest = text
		}
		info.OriginalMessageID = lastMessageIDLine(rest)
	}
	if info.Recipient == "" {
		if list := parseAddressList(m.Header.Get("X-Failed-Recipients")); len(list) > 0 {
			info.Recipient = list[0].Address
		}
	}
	if info.Recipient == "" {
		info.Recipient = failedAddress(m, failure)
	}
	fillStatusFromText(info, failure)
	if *info == (BounceInfo{}) {
		return nil, true
	}
	return info, true
}

func isDeliveryReportType(t string) bool {
	switch strings.ToLower(t) {
	case "delivery-status", "global-delivery-status":
		return true
	}
	return false
}

// replyPrefix matches the reply and forward prefixes clients put before a
// subject ("Re:", "Fwd:", "AW:", "WG:", "TR:", "RV:", "Odp:", "回复:", …).
var replyPrefix = regexp.MustCompile(`(?i)^\s*(re|fwd?|fw|aw|wg|sv|vs|vl|tr|rv|res|enc|odp|pd|r|i|antw|ynt|ilt|回复|答复|转发|回覆|轉寄|返信|転送)` +
	`\s*(\[\d+\])?\s*[:：]`)

// writtenAboutBounce reports a person's mail about a delivery report: a
// reply or forward (by its subject, or by the quote or forwarded mail in
// its text) from someone who is no daemon, list manager or machine, with
// words of their own around it: a question, or more than a line's remark.
// A person who forwards a bounce and asks what to do, or a list thread on
// "Undelivered Mail", quotes the report but is not one. A bare forward
// ("Forward the message.") still counts as the report it carries.
func writtenAboutBounce(m *Message) bool {
	if daemonSender(m) || nullSender(m) || listManagerMail(m) {
		return false
	}
	if as := strings.ToLower(strings.TrimSpace(m.AutoSubmitted)); as != "" && as != "no" {
		return false
	}
	text := head(m.Text, maxScan)
	if !replyPrefix.MatchString(m.Subject) && !hasQuote(text) {
		if _, embedded := reply.ExtractEmbedded(text); embedded == "" {
			return false
		}
	}
	visible, _ := reply.Trim(text)
	return strings.ContainsAny(visible, "?？") || len(strings.Fields(visible)) >= minOwnWords
}

// hasQuote reports a line quoted with '>'.
func hasQuote(text string) bool {
	for len(text) > 0 {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), ">") {
			return true
		}
	}
	return false
}

// minOwnWords is how many words of their own make a forward a person's
// mail even without a question.
const minOwnWords = 8

// heuristicBounce weighs the signals of a delivery report that does not
// follow RFC 3464; lowerText returns the body text after asciiLower. The
// cheap signals (sender, subject, parts) gate the costlier text scans, which
// most mail never needs.
func heuristicBounce(m *Message, lowerText func() string, hasOriginal bool) bool {
	daemon, null := daemonSender(m), nullSender(m)
	subj := matchASCIIWords(failSubject, head(m.Subject, 1024), failSubjectWords)
	if !daemon && !null && !subj && !hasOriginal {
		return false
	}
	lower := lowerText()
	body := failBody.MatchString(lower)
	switch {
	case (daemon || null) && (subj || body):
		return true
	case null && returnedMarker.MatchString(lower):
		return true
	case subj && (hasOriginal || returnedMarker.MatchString(lower) || dsnInText.MatchString(lower)):
		return true
	}
	return false
}

// daemonSender reports mail from an MTA's own mailbox (MAILER-DAEMON,
// postmaster and their display names).
func daemonSender(m *Message) bool {
	local := m.From.Address
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	if matchASCIIWords(daemonLocal, head(strings.TrimSpace(local), 256), daemonLocalWords) ||
		matchASCIIWords(daemonName, head(m.From.Name, 256), daemonNameWords) {
		return true
	}
	return strings.Contains(strings.ToLower(m.Header.Get("Return-Path")), "mailer-daemon")
}

// nullSender reports the null reverse-path (RFC 5321 4.5.5), which MTAs
// use for every delivery notification.
func nullSender(m *Message) bool {
	if !m.Header.Has("Return-Path") {
		return m.From.Address == "" && m.Header.Has("From")
	}
	v := strings.TrimSpace(m.Header.Get("Return-Path"))
	return v == "" || v == "<>" || v == "< >"
}

// head returns at most the first n bytes of s, cut on a rune boundary.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
