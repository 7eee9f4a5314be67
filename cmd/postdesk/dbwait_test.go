package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postdesk/postdesk/migrations/dbtest"
)

// 'postdesk serve' started before PostgreSQL waits for it: one log line
// per attempt, /readyz answering 503 and no SMTP listener meanwhile, then
// ready once the database is there. Both ways a database is "not there yet"
// in practice: nothing listens on its port (the server is starting), and
// the server runs but the database is not created yet.
func TestServeWaitsForDatabase(t *testing.T) {
	for _, c := range []struct {
		name string
		// prepare returns the database URL serve starts with, and the
		// function that makes the database appear.
		prepare func(t *testing.T) (string, func())
	}{
		{"nothing listens yet", func(t *testing.T) (string, func()) {
			u, _ := url.Parse(dbtest.URL(t))
			target := u.Host
			u.Host = freeAddr(t)
			return u.String(), func() { proxyTCP(t, u.Host, target) }
		}},
		{"database not created yet", func(t *testing.T) (string, func()) {
			u, _ := url.Parse(dbtest.ServerURL())
			name := fmt.Sprintf("postdesk_wait_%d", time.Now().UnixNano())
			u.Path = "/" + name
			t.Cleanup(func() { adminExec(t, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
			return u.String(), func() { adminExec(t, "CREATE DATABASE "+name) }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbURL, appear := c.prepare(t)
			env := exampleEnv(dbURL)
			smtpAddr, httpAddr := freeAddr(t), freeAddr(t)
			_, relayPort, _ := net.SplitHostPort(startSink(t))
			env["POSTDESK_SMTP_LISTEN"], env["POSTDESK_HTTP_LISTEN"] = smtpAddr, httpAddr
			env["POSTDESK_RELAY_HOST"], env["POSTDESK_RELAY_PORT"] = "127.0.0.1", relayPort
			ctx, stop := context.WithCancel(context.Background())
			out := &syncBuffer{mu: make(chanMutex, 1)} // ready before the command writes and the test reads at once
			done := make(chan int, 1)
			go func() { done <- run(ctx, []string{"serve"}, out, out, func(k string) string { return env[k] }) }()
			stopped := false
			t.Cleanup(func() {
				stop()
				if !stopped {
					<-done
				}
				if t.Failed() {
					t.Logf("serve output:\n%s", out.String())
				}
			})

			// Waiting: several attempts logged, 503 from /readyz, no SMTP.
			eventually(t, done, "two attempts logged and /readyz 503", func() bool {
				code, body := get(httpAddr + "/readyz")
				return code == http.StatusServiceUnavailable && strings.Contains(body, `"ready": false`) &&
					strings.Count(out.String(), "database does not answer; trying again") >= 2
			})
			if c, err := net.DialTimeout("tcp", smtpAddr, time.Second); err == nil {
				c.Close()
				t.Fatal("the SMTP listener accepts mail before the database answers")
			}
			if strings.Count(out.String(), "attempt=1 ") != 1 || strings.Count(out.String(), "attempt=2 ") != 1 {
				t.Errorf("want one log line per attempt:\n%s", out.String())
			}

			appear()
			eventually(t, done, "/readyz 200 once the database is there", func() bool {
				code, body := get(httpAddr + "/readyz")
				var d readyDetail
				return code == http.StatusOK && json.Unmarshal([]byte(body), &d) == nil && d.Ready && d.Schema == "ok"
			})
			if !strings.Contains(out.String(), "database answers") || !strings.Contains(out.String(), "postdesk serving") {
				t.Errorf("log lacks the start after waiting:\n%s", out.String())
			}
			stop()
			stopped = true
			if code := <-done; code != 0 {
				t.Fatalf("serve exit %d", code)
			}
		})
	}
}

// Stopped while it waits, serve ends cleanly.
func TestServeStopsWhileWaitingForDatabase(t *testing.T) {
	env := exampleEnv("postgres://postgres@" + freeAddr(t) + "/postdesk?sslmode=disable")
	env["POSTDESK_SMTP_LISTEN"], env["POSTDESK_HTTP_LISTEN"] = freeAddr(t), freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	out := &syncBuffer{mu: make(chanMutex, 1)} // ready before the command writes and the test reads at once
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, out, out, func(k string) string { return env[k] }) }()
	eventually(t, done, "an attempt logged", func() bool {
		return strings.Contains(out.String(), "database does not answer; trying again")
	})
	stop()
	if code := <-done; code != 0 || !strings.Contains(out.String(), "stopped while waiting for the database") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
}

// eventually polls cond until it holds, failing after a generous deadline
// or when serve exits.
func eventually(t *testing.T, done chan int, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited with %d before: %s", code, what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 90 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// adminExec runs one statement on the test server's maintenance database.
func adminExec(t *testing.T, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}

// proxyTCP forwards connections on addr to target until the test ends: the
// database "comes up" at addr.
func proxyTCP(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}
