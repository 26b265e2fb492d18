package signal

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeswarm/edgeswarm/wire"
)

// TestMessagesKeepPeerWithoutPongs: a joined client that never answers
// pings but sends a message more often than the idle timeout stays
// connected, and is closed no sooner than the idle timeout after its
// last message. Messages only record the session's deadline, so the
// session's timer fires before it, again and again, and must re-arm, not
// cut the connection.
func TestMessagesKeepPeerWithoutPongs(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval = 500 * time.Millisecond
	cfg.PongTimeout = 1500 * time.Millisecond
	idle := cfg.PingInterval + cfg.PongTimeout
	h := newHub(t, cfg, Options{})
	c := dial(t, serve(t, h))
	c.c.SetPingHandler(func(string) error { return nil }) // no pongs
	c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})

	// Read (without answering pings) until the connection goes.
	_ = c.c.SetReadDeadline(time.Time{})
	gone := make(chan time.Time, 1)
	go func() {
		for {
			if _, _, err := c.c.ReadMessage(); err != nil {
				gone <- time.Now()
				return
			}
		}
	}()
	var last time.Time
	for i := range 6 {
		if i > 0 {
			select {
			case at := <-gone:
				t.Fatalf("closed %v after the message before, within the idle timeout %v", at.Sub(last), idle)
			case <-time.After(idle * 2 / 5):
			}
		}
		last = time.Now()
		c.send(&wire.Have{Ranges: []wire.SeqRange{{First: uint64(i), Last: uint64(i)}}})
	}
	select {
	case at := <-gone:
		if d := at.Sub(last); d < idle {
			t.Fatalf("closed %v after the last message, before the idle timeout %v", d, idle)
		}
	case <-time.After(waitFor):
		t.Fatalf("still connected %v after the last message", waitFor)
	}
	if got := testutil.ToFloat64(h.met.disconnects[reasonPingTimeout]); got != 1 {
		t.Errorf("ping timeouts = %v, want 1", got)
	}
}

// TestLeaveBringsJoinTimeoutBack: after a leave the connection has the
// join timeout again, shorter than the idle timeout it had while joined.
func TestLeaveBringsJoinTimeoutBack(t *testing.T) {
	cfg := testConfig()
	cfg.JoinTimeout = time.Second
	cfg.PingInterval = time.Minute
	cfg.PongTimeout = time.Minute
	h := newHub(t, cfg, Options{})
	c := dial(t, serve(t, h))
	c.join(swarmA, h.IssueTicket(swarmA), wire.Caps{})
	// Past the join timeout of the connection's start, which the join
	// replaced by the idle timeout, the leave must bring a new one.
	time.Sleep(cfg.JoinTimeout * 3 / 2)
	c.send(&wire.Leave{})
	c.expectGone() // within waitFor, far below the idle timeout
	if got := testutil.ToFloat64(h.met.disconnects[reasonJoinTimeout]); got != 1 {
		t.Errorf("join timeouts = %v, want 1", got)
	}
}
