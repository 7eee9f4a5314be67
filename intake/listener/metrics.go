package listener

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the listeners see. A nil *Metrics counts nothing.
type Metrics struct {
	sessions *prometheus.CounterVec
	replies  *prometheus.CounterVec
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
	}
	reg.MustRegister(m.sessions, m.replies)
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
