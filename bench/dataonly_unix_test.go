//go:build unix

package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/edgeswarm/edgeswarm/internal/rtcwire"
)

// BenchmarkIdleConnections measures the CPU that open, idle DataChannel
// connections cost with pion's default API (its media interceptors) and
// with rtcwire.DataOnlyAPI, side by side: CPU milliseconds per connection and
// second of idling (both ends of 25 loopback pairs in this process).
//
//	go test -run '^$' -bench IdleConnections -benchtime 20x ./bench
func BenchmarkIdleConnections(b *testing.B) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	for _, c := range []struct {
		name string
		api  *webrtc.API
	}{{"default", webrtc.NewAPI(webrtc.WithSettingEngine(se))}, {"data-only", rtcwire.DataOnlyAPI(se)}} {
		b.Run(c.name, func(b *testing.B) {
			const pairs = 25
			for range pairs {
				openPair(b, c.api)
			}
			cpu0 := cpuTime(b)
			t0 := time.Now()
			for b.Loop() {
				time.Sleep(100 * time.Millisecond) // idling is what is measured
			}
			ms := float64((cpuTime(b) - cpu0).Milliseconds())
			b.ReportMetric(ms/(2*pairs)/time.Since(t0).Seconds(), "cpu-ms/conn-s")
		})
	}
}

// openPair connects two peer connections of api over loopback and waits
// until their DataChannel is open.
func openPair(b *testing.B, api *webrtc.API) {
	b.Helper()
	pa, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	pb, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pa.Close(); _ = pb.Close() })
	open := make(chan struct{})
	pb.OnDataChannel(func(dc *webrtc.DataChannel) { dc.OnOpen(func() { close(open) }) })
	if _, err := pa.CreateDataChannel("x", nil); err != nil {
		b.Fatal(err)
	}
	offer, err := pa.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	ga := webrtc.GatheringCompletePromise(pa)
	if err := pa.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-ga
	if err := pb.SetRemoteDescription(*pa.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	answer, err := pb.CreateAnswer(nil)
	if err != nil {
		b.Fatal(err)
	}
	gb := webrtc.GatheringCompletePromise(pb)
	if err := pb.SetLocalDescription(answer); err != nil {
		b.Fatal(err)
	}
	<-gb
	if err := pa.SetRemoteDescription(*pb.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	select {
	case <-open:
	case <-time.After(20 * time.Second):
		b.Fatal("the DataChannel did not open")
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
