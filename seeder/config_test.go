package seeder

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"ephemeral ports", func(c *Config) { c.ICEUDP = "" }, ""},
		{"ipv6 mux", func(c *Config) { c.ICEUDP = "[::1]:3478"; c.ICETCP = "[::]:3478" }, ""},
		{"public ips", func(c *Config) { c.PublicIPs = []string{"203.0.113.7", "2001:db8::1"} }, ""},
		{"udp not host:port", func(c *Config) { c.ICEUDP = "3478" }, "seeder.ice_udp"},
		{"udp host name", func(c *Config) { c.ICEUDP = "example.net:3478" }, "seeder.ice_udp"},
		{"tcp bad port", func(c *Config) { c.ICETCP = ":99999" }, "seeder.ice_tcp"},
		{"bad public ip", func(c *Config) { c.PublicIPs = []string{"203.0.113"} }, "seeder.public_ips[0]"},
		{"empty interface", func(c *Config) { c.Interfaces = []string{"eth0", ""} }, "seeder.interfaces[1]"},
		{"negative push_k", func(c *Config) { c.PushK = -1 }, "seeder.push_k"},
		{"huge push_k", func(c *Config) { c.PushK = 65 }, "seeder.push_k"},
		{"negative busy_holders", func(c *Config) { c.BusyHolders = -1 }, "seeder.busy_holders"},
		{"negative node budget", func(c *Config) { c.NodeUploadBps = -1 }, "seeder.node_upload_bps"},
		{"negative peer budget", func(c *Config) { c.PeerUploadBps = -1 }, "seeder.peer_upload_bps"},
		{"no peers", func(c *Config) { c.MaxPeers = 0 }, "seeder.max_peers"},
		{"small send buffer", func(c *Config) { c.SendBuffer = 32 << 10 }, "seeder.send_buffer"},
		{"huge send buffer", func(c *Config) { c.SendBuffer = 65 << 20 }, "seeder.send_buffer"},
		{"swarm's chunk size", func(c *Config) { c.ChunkSize = 0 }, ""},
		{"negative chunk size", func(c *Config) { c.ChunkSize = -1 }, "seeder.chunk_size"},
		{"chunk over a frame", func(c *Config) { c.ChunkSize = 65531 }, "seeder.chunk_size"},
		{"lite with tcp", func(c *Config) { c.ICELite = true; c.ICETCP = ":3478" }, "seeder.ice_lite"},
		{"stun rate", func(c *Config) { c.STUNRate = 0 }, "seeder.stun_rate"},
		{"stun burst", func(c *Config) { c.STUNBurst = 0 }, "seeder.stun_burst"},
		{"stun listen not host:port", func(c *Config) { c.STUNListen = "3479" }, "seeder.stun_listen"},
		{"stun listen host name", func(c *Config) { c.STUNListen = "example.net:3479" }, "seeder.stun_listen"},
		{"stun on the ice port", func(c *Config) { c.STUNListen = ":3478" }, "seeder.stun_listen"},
		{"stun on the ice port's host", func(c *Config) { c.ICEUDP, c.STUNListen = "192.0.2.1:3478", "0.0.0.0:3478" }, "seeder.stun_listen"},
		{"stun beside ice on other hosts", func(c *Config) { c.ICEUDP, c.STUNListen = "192.0.2.1:3478", "192.0.2.2:3478" }, ""},
		{"ephemeral stun and ice", func(c *Config) { c.ICEUDP, c.STUNListen = "127.0.0.1:0", "127.0.0.1:0" }, ""},
		{"no stun socket", func(c *Config) { c.STUNListen = "" }, ""},
		{"stun off ignores its port", func(c *Config) { c.STUN, c.STUNListen = false, ":3478" }, ""},
		{"stun off ignores its limits", func(c *Config) { c.STUN, c.STUNRate, c.STUNBurst = false, 0, 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestRankPushTargets(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &peer{id: "idle-slow-old"}
	b := &peer{id: "idle-fast"}
	c := &peer{id: "busy-fast"}
	d := &peer{id: "idle-slow-new"}
	e := &peer{id: "idle-fast-just-pushed"}
	cands := []pushScore{
		{p: c, queued: 2, throughput: 9e6, started: t0, turn: t0},
		{p: e, queued: 0, throughput: 9e6, started: t0, turn: t0.Add(2 * time.Hour)},
		{p: d, queued: 0, throughput: 1e6, started: t0.Add(time.Minute), turn: t0.Add(time.Hour)},
		{p: a, queued: 0, throughput: 1e6, started: t0, turn: t0.Add(time.Hour)},
		{p: b, queued: 0, throughput: 5e6, started: t0.Add(time.Hour), turn: t0.Add(time.Hour)},
	}
	rankPushTargets(cands)
	var got []string
	for _, c := range cands {
		got = append(got, c.p.id)
	}
	want := "idle-fast idle-slow-old idle-slow-new idle-fast-just-pushed busy-fast"
	if strings.Join(got, " ") != want {
		t.Errorf("ranked %v, want %s", got, want)
	}
}

func TestPushCountScalesWithTheSwarm(t *testing.T) {
	for _, tt := range []struct{ k, viewers, want int }{
		{2, 0, 0}, {0, 50, 0}, {2, 1, 1}, {2, 3, 1}, {2, 20, 1}, {2, 63, 1}, {2, 64, 2}, {2, 500, 2}, {5, 160, 5},
	} {
		if got := pushCount(tt.k, tt.viewers); got != tt.want {
			t.Errorf("pushCount(k=%d, viewers=%d) = %d, want %d", tt.k, tt.viewers, got, tt.want)
		}
	}
}
