package seeder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/wire"
)

// The tests of this file put a hostile peer (testpeer.Hostile) in front
// of the super-peer: it must drop what breaks the protocol, stay bounded
// against what merely abuses it, and keep serving the other viewers.

// hello is a valid viewer hello: version 1..2, serves and accepts push.
var hello = []byte{byte(wire.FrameHello), 1, 2, wire.FlagServes | wire.FlagAcceptsPush}

func frame(t byte, fields ...any) []byte {
	b := []byte{t}
	for _, f := range fields {
		switch v := f.(type) {
		case uint8:
			b = append(b, v)
		case uint16:
			b = binary.BigEndian.AppendUint16(b, v)
		case uint32:
			b = binary.BigEndian.AppendUint32(b, v)
		case uint64:
			b = binary.BigEndian.AppendUint64(b, v)
		case []byte:
			b = append(b, v...)
		}
	}
	return b
}

func (e *env) hostile(opt testpeer.HostileOptions) *testpeer.Hostile {
	e.t.Helper()
	h, err := testpeer.DialHostile(e.ctx, e.tr.Dial(), testSwarm, "", opt)
	if err != nil {
		e.t.Fatalf("hostile peer: %v", err)
	}
	e.t.Cleanup(func() { h.Close() })
	return h
}

// waitDropped waits until the seeder closed h's connection.
func (e *env) waitDropped(h *testpeer.Hostile, what string) {
	e.t.Helper()
	select {
	case <-h.Closed():
	case <-e.ctx.Done():
		e.t.Fatalf("%s: the seeder kept the connection open", what)
	}
}

func TestSeederDropsMalformedFrames(t *testing.T) {
	verifyNoLeaks(t)
	e := newEnv(t, DefaultConfig(), false)
	d := e.src.add("/live/ch1/720p/1.ts", seq(1), 10_000)
	e.tr.publish(testSwarm, d)
	tests := []struct {
		name    string
		noHello bool
		msg     []byte
		text    bool
	}{
		{name: "first frame not hello", noHello: true, msg: frame(0x03, uint32(1), uint32(0), uint8(0), uint64(1))},
		{name: "hello with version 0", noHello: true, msg: []byte{0x01, 0, 0, 0}},
		{name: "text message", msg: []byte("hello"), text: true},
		{name: "too large", msg: bytes.Repeat([]byte{0x05}, wire.MaxFrameSize+1)},
		{name: "unknown type", msg: []byte{0x0b, 0, 0, 0, 1}},
		{name: "zero type", msg: []byte{0x00}},
		{name: "truncated data", msg: []byte{0x04, 0, 0, 0, 1}},
		{name: "trailing bytes", msg: []byte{0x07, 0, 0, 0, 1, 0}},
		{name: "have declaring 65535 bits", msg: frame(0x02, uint64(0), uint16(0xffff), []byte{0xff})},
		{name: "request key declaring 65535 bytes", msg: frame(0x03, uint32(1), uint32(0), uint8(1), uint16(0xffff), []byte("/a"))},
		{name: "request of an unknown kind", msg: frame(0x03, uint32(1), uint32(0), uint8(7), uint64(1))},
		{name: "data of 2^32-1 bytes never requested", msg: frame(0x04, uint32(1), uint32(0xffffffff), uint32(0))},
		{name: "chunk never requested", msg: frame(0x05, uint32(1), bytes.Repeat([]byte{1}, 1000))},
		{name: "done never requested", msg: frame(0x06, uint32(9))},
		{name: "push to the super-peer", msg: frame(0x0a, uint32(wire.MinPushReq), uint64(1))},
		{name: "second hello", msg: hello},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := e.hostile(testpeer.HostileOptions{})
			if !tc.noHello {
				if err := h.Send(hello); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			if tc.text {
				err = h.SendText(string(tc.msg))
			} else {
				err = h.Send(tc.msg)
			}
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			e.waitDropped(h, tc.name)
			if got := testutil.ToFloat64(e.s.m.dropped[dropProtocol]); got != float64(i+1) {
				t.Errorf("peers_dropped_total{protocol_error} = %v, want %d", got, i+1)
			}
		})
	}
}

// Abuse within the frame rules: the seeder answers, stays bounded, and
// drops a peer that asks without reading.
func TestSeederBoundsAbusivePeers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PushK = 1
	e := newEnv(t, cfg, false)
	held := e.src.add("/live/ch1/720p/1.ts", seq(1), 200_000)
	e.tr.publish(testSwarm, held)

	honest, seederID := e.viewer(testpeer.Options{Upload: true, AcceptPush: true})
	base := goleak.IgnoreCurrent()

	t.Run("requests for segments never offered", func(t *testing.T) {
		h := e.hostile(testpeer.HostileOptions{})
		if err := h.Send(hello); err != nil {
			t.Fatal(err)
		}
		asks := [][]byte{
			frame(0x03, uint32(1), uint32(0), uint8(0), uint64(99)),                                    // unknown seq
			frame(0x03, uint32(2), uint32(0), uint8(1), uint16(6), []byte("/x.mp4")),                   // unknown key
			frame(0x03, uint32(3), uint32(200_001), uint8(0), uint64(1)),                               // offset past the end
			frame(0x03, uint32(4), uint32(0), uint8(0), uint64(wire.MaxSequence)),                      // the last sequence
			frame(0x03, uint32(5), uint32(0), uint8(1), uint16(len(held.Key)+1), []byte(held.Key+"x")), // near miss
		}
		for _, a := range asks {
			if err := h.Send(a); err != nil {
				t.Fatal(err)
			}
		}
		absent := map[uint32]bool{}
		for len(absent) < len(asks) {
			b, err := h.Next(e.ctx)
			if err != nil {
				t.Fatalf("after %d absent answers: %v", len(absent), err)
			}
			if f, err := wire.DecodeFrame(b); err == nil && f.Type == wire.FrameAbsent {
				absent[f.Req] = true
			}
		}
		select {
		case <-h.Closed():
			t.Fatal("the seeder dropped a peer for asking for what it lacks")
		default:
		}
		h.Close()
	})

	t.Run("request flood on a half-open channel", func(t *testing.T) {
		h := e.hostile(testpeer.HostileOptions{NoRead: true})
		if err := h.Send(hello); err != nil {
			t.Fatal(err)
		}
		// Each request past max_inflight is answered busy at once; the
		// answers pile up on the seeder's side until it drops the peer.
		before := testutil.ToFloat64(e.s.m.dropped[dropNotReading])
		const max = 1 << 20
		sent := h.Flood(e.ctx, max, func(i int) []byte { return frame(0x03, uint32(i+1), uint32(0), uint8(0), uint64(1)) })
		if sent == max {
			t.Fatalf("%d requests unread and the seeder still takes more", max)
		}
		// It never queued more than max_inflight of them: the rest were
		// answered busy at once.
		if busy := testutil.ToFloat64(e.s.m.busy); busy == 0 {
			t.Errorf("requests_total{busy} = 0 after a flood of %d requests", sent)
		}
		// And it stopped serving once nothing drained: what it sent is
		// bounded by the buffers, not by the flood (200 kB each).
		t.Logf("flood: %d requests sent before the drop, %v served, %v answered busy", sent, testutil.ToFloat64(e.s.m.served), testutil.ToFloat64(e.s.m.busy))
		if served := testutil.ToFloat64(e.s.m.served); served > 32 {
			t.Errorf("served %v responses to a peer that reads nothing", served)
		}
		e.waitDropped(h, "flood")
		if got := testutil.ToFloat64(e.s.m.dropped[dropNotReading]); got != before+1 {
			t.Errorf("peers_dropped_total{not_reading} = %v, want %v", got, before+1)
		}
		h.Close()
	})

	t.Run("half-open channel that takes a push", func(t *testing.T) {
		// The only pushable viewer besides the honest one: it opens,
		// says it takes pushes and never reads.
		h := e.hostile(testpeer.HostileOptions{NoRead: true})
		if err := h.Send(hello); err != nil {
			t.Fatal(err)
		}
		if err := h.Send(frame(0x02, uint64(0), uint16(0))); err != nil {
			t.Fatal(err)
		}
		before := testutil.ToFloat64(e.s.m.dropped[dropNotReading])
		// The honest viewer holds a segment before the seeder pushes
		// it: the push goes to the hostile peer, is bigger than what
		// the channel buffers (the send buffer, and the 1 MiB the
		// viewer's SCTP takes in unread), and stalls.
		first := e.src.add("/live/ch1/720p/10.ts", seq(10), int(e.s.cfg.SendBuffer)+2<<20)
		e.tr.publish(testSwarm, first)
		// The digest reaches the seeder over signaling: until it has,
		// the seeder answers absent, and the viewer asks again.
		for {
			_, err := honest.Fetch(e.ctx, seederID, 10)
			if err == nil {
				break
			}
			if !errors.Is(err, testpeer.ErrAbsent) {
				t.Fatal(err)
			}
		}
		sw := e.swarm()
		for sw.holders(10, nil) < 1 {
			sw.mu.Lock()
			ch := sw.viewersHave
			sw.mu.Unlock()
			select {
			case <-ch:
			case <-e.ctx.Done():
				t.Fatal("the seeder never saw the honest viewer hold segment 10")
			}
		}
		e.s.NewSegment(testSwarm, first)
		// The honest viewer keeps getting every new segment pushed.
		for n := uint64(11); n < 14; n++ {
			d := e.src.add("/live/ch1/720p/"+strconv.FormatUint(n, 10)+".ts", seq(n), 300_000)
			e.publish(d)
			got, err := honest.Segment(e.ctx, n)
			if err != nil || !bytes.Equal(got, e.src.get(d.Key)) {
				t.Fatalf("honest viewer, segment %d: %d bytes, %v (%v)", n, len(got), err, honest.Err())
			}
		}
		e.waitDropped(h, "half-open")
		if got := testutil.ToFloat64(e.s.m.dropped[dropNotReading]); got != before+1 {
			t.Errorf("peers_dropped_total{not_reading} = %v, want %v", got, before+1)
		}
		h.Close()
	})

	// Nothing of the hostile peers stays behind: the goroutines are those
	// of the honest viewer's connection, and it is still served.
	e.waitPeers(1)
	goleak.VerifyNone(t, base,
		// pion starts one per read of a live connection (the honest
		// viewer's), so a new one is always there.
		goleak.IgnoreAnyFunction("github.com/pion/transport/v5/netctx.(*packetConn).ReadFromContext.func1"))
	if err := honest.Err(); err != nil {
		t.Errorf("honest viewer: %v", err)
	}
}

// waitPeers waits until the seeder holds n connections.
func (e *env) waitPeers(n int) {
	e.t.Helper()
	for testutil.ToFloat64(e.s.m.peers) != float64(n) {
		sw := e.swarm()
		sw.mu.Lock()
		ch := sw.viewersHave
		sw.mu.Unlock()
		select {
		case <-ch:
		case <-e.ctx.Done():
			e.t.Fatalf("the seeder holds %v connections, want %d", testutil.ToFloat64(e.s.m.peers), n)
		}
	}
}
