package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/postdesk/postdesk/intake/poller"
	"github.com/postdesk/postdesk/migrations"
	"github.com/postdesk/postdesk/ticket"
	"github.com/postdesk/postdesk/web"
)

const httpTimeout = 10 * time.Second

// readyState is what /readyz reports on. It is empty while serve starts
// (waiting for the database, binding the listeners), so that an
// orchestrator sees "not ready" rather than no answer at all.
type readyState struct{ p atomic.Pointer[serving] }

// serving is the running process that readiness checks.
type serving struct {
	pool      *pgxpool.Pool
	polls     *poller.Poller
	listeners int
}

// consoleSlot serves the web console once serve has its store, and 503
// before: the listener answers health checks from the start.
type consoleSlot struct{ p atomic.Pointer[web.Server] }

func (c *consoleSlot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := c.p.Load(); s != nil {
		s.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Retry-After", "5")
	http.Error(w, "postdesk is starting", http.StatusServiceUnavailable)
}

// healthHandler serves /healthz (the process answers), /readyz (it can do
// its work) and /metrics, and everything else from console (the web
// console) when it is not nil.
func healthHandler(state *readyState, reg *prometheus.Registry, console http.Handler) http.Handler {
	mux := http.NewServeMux()
	if console != nil {
		mux.Handle("/", console)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ready, detail := false, readyDetail{Database: "starting: waiting for it", Schema: "unknown", Mailboxes: []mailboxDetail{}}
		if s := state.p.Load(); s != nil {
			ready, detail = readiness(r.Context(), s.pool, s.polls, s.listeners)
		}
		w.Header().Set("Content-Type", "application/json")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(detail)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: httpTimeout}))
	return mux
}

// readyDetail is the body of /readyz.
type readyDetail struct {
	Ready     bool            `json:"ready"`
	Database  string          `json:"database"`
	Schema    string          `json:"schema"`
	Listeners int             `json:"listeners"`
	Mailboxes []mailboxDetail `json:"mailboxes"`
}

type mailboxDetail struct {
	Name      string    `json:"name"`
	Active    bool      `json:"active"` // this process polls it
	State     string    `json:"state"`
	LastPoll  time.Time `json:"last_poll,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// readiness checks the database and schema. A mailbox that cannot log in
// shows in the detail without making the process unready: the others and
// the SMTP listener still work.
func readiness(ctx context.Context, pool *pgxpool.Pool, polls *poller.Poller, listeners int) (bool, readyDetail) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	d := readyDetail{Database: "ok", Schema: "ok", Listeners: listeners, Mailboxes: []mailboxDetail{}}
	ready := true
	if err := pool.Ping(ctx); err != nil {
		d.Database, d.Schema, ready = "unreachable", "unknown", false
	} else if current, latest, err := migrations.Status(ctx, pool); err != nil {
		d.Schema, ready = "unknown", false
	} else if current != latest {
		d.Schema, ready = "behind: run postdesk migrate", false
	}
	for _, s := range polls.Status() {
		d.Mailboxes = append(d.Mailboxes, mailboxDetail{Name: s.Name, Active: s.Active, State: s.State,
			LastPoll: s.LastPoll, LastError: s.LastError})
	}
	d.Ready = ready
	return ready, d
}

// storeCollector reads what the database knows at scrape time: the
// outbound queue and the notices' fates (shared by every replica), and this
// process's IMAP pollers.
type storeCollector struct {
	pool  *pgxpool.Pool
	polls *poller.Poller

	notices, retries, depth, oldest, lastPoll, state, tokenFailures *prometheus.Desc
}

func newStoreCollector(pool *pgxpool.Pool, polls *poller.Poller) *storeCollector {
	return &storeCollector{pool: pool, polls: polls,
		notices: prometheus.NewDesc("postdesk_notices", "Notices in the outbound store, by state (pending, sent, failed, suppressed).",
			[]string{"state"}, nil),
		retries: prometheus.NewDesc("postdesk_notice_retries", "Delivery attempts beyond the first, over all notices.", nil, nil),
		depth:   prometheus.NewDesc("postdesk_queue_depth", "Notices waiting to be delivered.", nil, nil),
		oldest: prometheus.NewDesc("postdesk_queue_oldest_age_seconds",
			"Age of the oldest notice waiting to be delivered; 0 when none waits.", nil, nil),
		lastPoll: prometheus.NewDesc("postdesk_mailbox_last_poll_timestamp_seconds",
			"When the mailbox was last polled completely, by any replica.", []string{"mailbox"}, nil),
		state: prometheus.NewDesc("postdesk_mailbox_imap_state",
			"1 for the state of this process's IMAP connection to the mailbox.", []string{"mailbox", "state"}, nil),
		tokenFailures: prometheus.NewDesc("postdesk_mailbox_xoauth2_failures_total",
			"Failed attempts to get an XOAUTH2 access token, by mailbox.", []string{"mailbox"}, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.notices, c.retries, c.depth, c.oldest, c.lastPoll, c.state, c.tokenFailures} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts := map[string]float64{"pending": 0, "sent": 0, "failed": 0, "suppressed": 0}
	st, _ := ticket.ReadOutboxStats(ctx, c.pool) // what could be read is shown; the rest stays 0
	for state, n := range st.ByState {
		counts[state] = float64(n)
	}
	retries, oldest := float64(st.Retries), st.OldestPending
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.notices, prometheus.GaugeValue, n, state)
	}
	ch <- prometheus.MustNewConstMetric(c.retries, prometheus.GaugeValue, retries)
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, counts["pending"])
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest)

	if polled, err := poller.LastPolls(ctx, c.pool); err == nil {
		for name, at := range polled {
			ch <- prometheus.MustNewConstMetric(c.lastPoll, prometheus.GaugeValue, float64(at.UnixNano())/1e9, name)
		}
	}
	for _, s := range c.polls.Status() {
		state := strings.ToLower(s.State)
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, 1, s.Name, state)
		ch <- prometheus.MustNewConstMetric(c.tokenFailures, prometheus.CounterValue, float64(s.TokenFailures), s.Name)
	}
}
