// SPDX-FileCopyrightText: 2026 The edgeswarm authors
// SPDX-License-Identifier: MIT

// Tests of the change made for edgeswarm (see the README of the folder
// above): writes without a write deadline and the read loop's reads go to
// the underlying conn without a goroutine each, and an application data
// record is encoded into one buffer.

package dtls

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
	"github.com/pion/transport/v5/dpipe"
	"github.com/pion/transport/v5/test"
	"github.com/stretchr/testify/assert"
)

// TestWriteWithAndWithoutDeadline: a record written without a write
// deadline (the direct path) and one written with a deadline ahead (the
// context path) both arrive whole and in order.
func TestWriteWithAndWithoutDeadline(t *testing.T) {
	lim := test.TimeOut(10 * time.Second)
	defer lim.Stop()
	report := test.CheckRoutines(t)
	defer report()

	ca, cb, err := pipeMemory()
	assert.NoError(t, err)

	first := bytes.Repeat([]byte{1}, 1100)
	second := bytes.Repeat([]byte{2}, 1100)
	_, err = ca.Write(first)
	assert.NoError(t, err)
	assert.NoError(t, ca.SetWriteDeadline(time.Now().Add(time.Minute)))
	_, err = ca.Write(second)
	assert.NoError(t, err)

	buf := make([]byte, 2048)
	for _, want := range [][]byte{first, second} {
		n, rerr := cb.Read(buf)
		assert.NoError(t, rerr)
		assert.Equal(t, want, buf[:n])
	}
	assert.NoError(t, ca.Close())
	assert.NoError(t, cb.Close())
}

// TestMarshalApplicationData: the one-buffer encoding of an application
// data record is byte for byte what RecordLayer.Marshal gives, and fails
// the same way on a sequence number past the limit.
func TestMarshalApplicationData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		epoch uint16
		seq   uint64
		size  int
	}{
		{"empty", 1, 0, 0},
		{"one byte", 1, 7, 1},
		{"an SCTP packet", 1, 1 << 40, 1200},
		{"epoch 2, last sequence number", 2, recordlayer.MaxSequenceNumber, 1500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte{0xa5}, tc.size)
			header := recordlayer.Header{Version: protocol.Version1_2, Epoch: tc.epoch, SequenceNumber: tc.seq}
			want, err := (&recordlayer.RecordLayer{Header: header, Content: &protocol.ApplicationData{Data: data}}).Marshal()
			assert.NoError(t, err)
			got, err := marshalApplicationData(&header, data)
			assert.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, protocol.ContentTypeApplicationData, header.ContentType)
			assert.Equal(t, uint16(tc.size), header.ContentLen) //nolint:gosec // G115
		})
	}
	header := recordlayer.Header{Version: protocol.Version1_2, Epoch: 1, SequenceNumber: recordlayer.MaxSequenceNumber + 1}
	_, want := (&recordlayer.RecordLayer{Header: header, Content: &protocol.ApplicationData{}}).Marshal()
	_, got := marshalApplicationData(&header, nil)
	assert.Error(t, got)
	assert.Equal(t, want, got)
	assert.Error(t, (&recordlayer.Header{}).MarshalTo(make([]byte, recordlayer.FixedHeaderSize-1)))
}

// gateConn is a net.Conn whose writes block while the gate is shut, until
// a write deadline in the past or Close ends them: an underlying conn with
// a full send queue.
type gateConn struct {
	net.Conn

	mu      sync.Mutex
	shut    bool
	blocked chan struct{} // closed when a write blocks
	release chan struct{} // closed by a past write deadline or Close
	once    sync.Once
}

func newGateConn(c net.Conn) *gateConn {
	return &gateConn{Conn: c, blocked: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	shut := g.shut
	g.shut = false
	g.mu.Unlock()
	if shut {
		close(g.blocked)
		<-g.release

		return 0, errDeadlineExceeded
	}

	return g.Conn.Write(p)
}

func (g *gateConn) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() && t.Before(time.Now()) {
		g.once.Do(func() { close(g.release) })
	}

	return g.Conn.SetWriteDeadline(t)
}

func (g *gateConn) Close() error {
	g.once.Do(func() { close(g.release) })

	return g.Conn.Close()
}

// TestCloseEndsABlockedWrite: a Write without a write deadline that blocks
// in the underlying conn returns once the Conn is closed, as it did when
// every write watched a context.
func TestCloseEndsABlockedWrite(t *testing.T) {
	lim := test.TimeOut(10 * time.Second)
	defer lim.Stop()

	pa, pb := dpipe.Pipe()
	gate := newGateConn(pa)
	ca, cb, err := pipeConn(gate, pb)
	assert.NoError(t, err)

	gate.mu.Lock()
	gate.shut = true
	gate.mu.Unlock()
	werr := make(chan error, 1)
	go func() {
		_, err := ca.Write(make([]byte, 100))
		werr <- err
	}()
	<-gate.blocked
	closeErr := make(chan error, 1)
	go func() { closeErr <- ca.Close() }()
	assert.Error(t, <-werr, "a blocked Write must fail when the Conn closes")
	assert.NoError(t, <-closeErr)
	// The close_notify alert went out after the blocked write ended.
	_, err = cb.Read(make([]byte, 100))
	assert.ErrorIs(t, err, io.EOF)
	assert.NoError(t, cb.Close())
}

// BenchmarkWriteRecord is the send path of a DataChannel reduced to DTLS:
// one record of an SCTP packet's size (1200 bytes) per Write, the peer
// reading them. Before the change each Write started two goroutines
// (contextWithClose and netctx's WriteToContext) and each read one.
//
//	go test -run '^$' -bench WriteRecord -benchmem
func BenchmarkWriteRecord(b *testing.B) {
	ca, cb, err := pipeMemory()
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = ca.Close()
		_ = cb.Close()
	}()
	msg := make([]byte, 1200)
	read := make(chan int)
	go func() {
		buf := make([]byte, 2048)
		total := 0
		for total < b.N*len(msg) {
			n, rerr := cb.Read(buf)
			if rerr != nil {
				break
			}
			total += n
		}
		read <- total
	}()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ca.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if got := <-read; got != b.N*len(msg) {
		b.Fatalf("read %d bytes of %d", got, b.N*len(msg))
	}
}
