package node

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// recordingConn records the deadlines that reach the real connection.
type recordingConn struct {
	net.Conn
	reads, writes []time.Time
}

func (c *recordingConn) SetReadDeadline(t time.Time) error { c.reads = append(c.reads, t); return nil }
func (c *recordingConn) SetWriteDeadline(t time.Time) error {
	c.writes = append(c.writes, t)
	return nil
}

func TestLazyDeadlinesNeverEarlyAtMostSlackLate(t *testing.T) {
	rec := &recordingConn{}
	c := &lazyDeadlineConn{Conn: rec}
	base := time.Now().Add(time.Minute)
	steps := []struct {
		name    string
		ask     time.Time
		applied bool
		want    time.Time // what the real connection got, when applied
	}{
		{"first deadline, set late by the slack", base, true, base.Add(deadlineSlack)},
		{"a later one inside the slack stands", base.Add(300 * time.Millisecond), false, time.Time{}},
		{"the same again stands", base.Add(deadlineSlack), false, time.Time{}},
		{"past the one in force: moved", base.Add(deadlineSlack + time.Millisecond), true, base.Add(2*deadlineSlack + time.Millisecond)},
		{"much earlier: tightened", base.Add(-30 * time.Second), true, base.Add(-30*time.Second + deadlineSlack)},
		{"none: cleared", time.Time{}, true, time.Time{}},
		{"none again: nothing to do", time.Time{}, false, time.Time{}},
		{"already due: exactly as asked", time.Unix(1, 0), true, time.Unix(1, 0)},
	}
	for _, s := range steps {
		before := len(rec.reads)
		if err := c.SetReadDeadline(s.ask); err != nil {
			t.Fatal(err)
		}
		switch {
		case !s.applied && len(rec.reads) != before:
			t.Errorf("%s: moved the real deadline to %v", s.name, rec.reads[len(rec.reads)-1])
		case s.applied && len(rec.reads) != before+1:
			t.Errorf("%s: real deadline not moved", s.name)
		case s.applied && !rec.reads[before].Equal(s.want):
			t.Errorf("%s: real deadline %v, want %v", s.name, rec.reads[before], s.want)
		}
	}
	// Write deadlines are kept apart from read ones.
	if err := c.SetWriteDeadline(base); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 || !rec.writes[0].Equal(base.Add(deadlineSlack)) {
		t.Errorf("write deadlines %v", rec.writes)
	}
}

// Through a real socket: a deadline still ends a blocked read, and one
// already due interrupts a read blocked under a later one.
func TestLazyDeadlinesStillFire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lazy := lazyDeadlineListener{ln}
	defer lazy.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	c, err := lazy.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if err := c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read under a deadline: %v, want a timeout", err)
	}

	if err := c.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	if err := c.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("interrupted read: %v, want a timeout", err)
	}
}
