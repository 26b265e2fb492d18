package seeder

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/internal/netns"
	"github.com/edgeswarm/edgeswarm/internal/testpeer"
	"github.com/edgeswarm/edgeswarm/wire"
)

// BenchmarkPionDataChannelMiB is the super-peer's send path reduced to
// pion alone: two peer connections in this process over loopback, one
// DataChannel, and per iteration 1 MiB sent in 16 KiB messages with the
// seeder's flow control (wait above the send buffer, resume at a
// quarter). Nothing of edgeswarm is in the loop, so its allocations and
// CPU per MiB are pion's (both ends: SCTP packets of 1191 bytes, one DTLS
// record and one datagram each, about 900 per MiB each way):
//
//	go test ./seeder -run '^$' -bench PionDataChannelMiB -benchmem -benchtime 200x
func BenchmarkPionDataChannelMiB(b *testing.B) {
	netns.RequireLoopbackOnly(b)
	api := testpeer.LoopbackAPI()
	offerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	defer offerer.Close()
	answerer, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	defer answerer.Close()
	received := make(chan int, 1024)
	answerer.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) { received <- len(m.Data) })
	})
	dc, err := offerer.CreateDataChannel(wire.DataChannelLabel, nil)
	if err != nil {
		b.Fatal(err)
	}
	open := make(chan struct{})
	dc.OnOpen(func() { close(open) })
	low := make(chan struct{}, 1)
	high := uint64(DefaultConfig().SendBuffer)
	dc.SetBufferedAmountLowThreshold(high / 4)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	// Signal without trickle: each side's description once its gathering
	// is complete (loopback host candidates only).
	exchange := func(from, to *webrtc.PeerConnection, offer bool) {
		var d webrtc.SessionDescription
		if offer {
			d, err = from.CreateOffer(nil)
		} else {
			d, err = from.CreateAnswer(nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		done := webrtc.GatheringCompletePromise(from)
		if err := from.SetLocalDescription(d); err != nil {
			b.Fatal(err)
		}
		<-done
		if err := to.SetRemoteDescription(*from.LocalDescription()); err != nil {
			b.Fatal(err)
		}
	}
	exchange(offerer, answerer, true)
	exchange(answerer, offerer, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-open:
	case <-ctx.Done():
		b.Fatal("the DataChannel never opened")
	}

	msg := make([]byte, 16<<10)
	const perOp = 1 << 20
	b.SetBytes(perOp)
	b.ReportAllocs()
	b.ResetTimer()
	got := 0
	for range b.N {
		for sent := 0; sent < perOp; sent += len(msg) {
			for dc.BufferedAmount() > high {
				<-low
			}
			if err := dc.Send(msg); err != nil {
				b.Fatal(err)
			}
		}
		for got < perOp {
			got += <-received
		}
		got -= perOp
	}
}
