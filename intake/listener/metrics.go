package listener

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the listeners see. A nil *Metrics counts nothing.
type Metrics struct {
	sessions *prometheus.CounterVec
	replies  *prometheus.CounterVec
	open     *prometheus.GaugeVec
	refusals *prometheus.CounterVec
	timeouts *prometheus.CounterVec
}

// NewMetrics registers the listeners' metrics with reg; one set serves
// every listener of a process.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_smtp_sessions_total",
			Help: "SMTP and LMTP sessions opened, by listener.",
		}, []string{"listener"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_smtp_replies_total",
			Help: "Replies to SMTP/LMTP MAIL, RCPT and DATA commands, by listener, command and code.",
		}, []string{"listener", "command", "code"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "postdesk_smtp_sessions_open",
			Help: "SMTP and LMTP connections admitted and still open, by listener.",
		}, []string{"listener"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_smtp_sessions_refused_total",
			Help: "Connections answered 421 4.7.0 at connect, by listener and the cap they hit (max_sessions, max_sessions_per_ip).",
		}, []string{"listener", "limit"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_smtp_sessions_timed_out_total",
			Help: "Sessions closed for waiting too long on the client, by listener and reason (idle, session_timeout).",
		}, []string{"listener", "reason"}),
	}
	reg.MustRegister(m.sessions, m.replies, m.open, m.refusals, m.timeouts)
	return m
}

func (m *Metrics) session(listener string) {
	if m != nil {
		m.sessions.WithLabelValues(listener).Inc()
	}
}

func (m *Metrics) reply(listener, command string, code int) {
	if m != nil {
		m.replies.WithLabelValues(listener, command, strconv.Itoa(code)).Inc()
	}
}

func (m *Metrics) openSessions(listener string, n int) {
	if m != nil {
		m.open.WithLabelValues(listener).Set(float64(n))
	}
}

func (m *Metrics) refused(listener, limit string) {
	if m != nil {
		m.refusals.WithLabelValues(listener, limit).Inc()
	}
}

func (m *Metrics) timedOut(listener, reason string) {
	if m != nil {
		m.timeouts.WithLabelValues(listener, reason).Inc()
	}
}
