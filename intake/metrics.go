package intake

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the inbound step makes of the mails it sees (the
// listeners count their sessions and replies themselves). A nil *Metrics
// counts nothing.
type Metrics struct {
	received   *prometheus.CounterVec
	opened     prometheus.Counter
	threaded   *prometheus.CounterVec
	machine    *prometheus.CounterVec
	duplicates *prometheus.CounterVec
}

// NewMetrics registers intake's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_mails_received_total",
			Help: "Mails committed, by mailbox, transport and outcome.",
		}, []string{"mailbox", "transport", "outcome"}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postdesk_tickets_opened_total",
			Help: "Tickets opened by mail.",
		}),
		threaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_followups_threaded_total",
			Help: "Follow-ups joined to their ticket, by threading rule.",
		}, []string{"rule"}),
		machine: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_machine_mails_total",
			Help: "Auto-replies, bounces and other machine-generated mails seen, by class.",
		}, []string{"class"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdesk_mails_duplicate_total",
			Help: "Mails that had been committed before and changed nothing, by transport.",
		}, []string{"transport"}),
	}
	reg.MustRegister(m.received, m.opened, m.threaded, m.machine, m.duplicates)
	return m
}

func (m *Metrics) mail(mailbox string, t Transport, res Result, class string) {
	if m == nil {
		return
	}
	if res.Duplicate {
		m.duplicates.WithLabelValues(string(t)).Inc()
		return
	}
	if mailbox == "" {
		mailbox = "unknown"
	}
	m.received.WithLabelValues(mailbox, string(t), string(res.Outcome)).Inc()
	switch res.Outcome {
	case OutcomeNewTicket:
		m.opened.Inc()
	case OutcomeFollowUp:
		m.threaded.WithLabelValues(res.Rule).Inc()
	}
	if class != "" && class != "normal" {
		m.machine.WithLabelValues(class).Inc()
	}
}
