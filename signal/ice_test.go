package signal

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeswarm/edgeswarm/internal/fakeclock"
	"github.com/edgeswarm/edgeswarm/wire"
)

const turnSecret = "turn-secret-0123456789"

func TestICEServersConfig(t *testing.T) {
	tests := []struct {
		name    string
		servers []ICEServer
		secret  string
		want    string // substring of the error; "" for valid
	}{
		{"stun only", []ICEServer{{URLs: []string{"stun:stun.example.com:3478"}}}, "", ""},
		{"fixed turn login", []ICEServer{{URLs: []string{"turn:turn.example.com"}, Username: "u", Credential: "p"}}, "", ""},
		{"minted turn", []ICEServer{{URLs: []string{"turn:turn.example.com", "turns:turn.example.com:443"}}}, turnSecret, ""},
		{"turn without secret", []ICEServer{{URLs: []string{"turn:turn.example.com"}}}, "", "signal.ice_servers[0]: a turn: URL without credential needs signal.turn_secret"},
		{"username alone", []ICEServer{{URLs: []string{"turn:t.example.com"}, Username: "u"}}, turnSecret, "signal.ice_servers[0]: set both"},
		{"bad scheme", []ICEServer{{URLs: []string{"http://t.example.com"}}}, "", "signal.ice_servers[0]: urls[0]"},
		{"no urls", []ICEServer{{}}, "", "signal.ice_servers[0]: urls"},
		{"short secret", nil, "short", "signal.turn_secret: 5 bytes"},
		{"too many", make([]ICEServer, wire.MaxICEServers-1), "", "signal.ice_servers: 7 entries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			c.ICEServers, c.TURNSecret = tc.servers, tc.secret
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	c := testConfig()
	c.TURNTTL = time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "signal.turn_ttl") {
		t.Errorf("turn_ttl 1s: %v", err)
	}
}

// TestWelcomeICEServers: every viewer's welcome lists the node's own
// servers, then the configured ones; entries with a turn: URL and no
// fixed login carry credentials minted for that viewer, which a relay
// holding the secret accepts until the TTL passes.
func TestWelcomeICEServers(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_800_000_000, 0))
	cfg := testConfig()
	cfg.Open = true
	cfg.TURNSecret = turnSecret
	cfg.TURNTTL = time.Hour
	cfg.ICEServers = []ICEServer{
		{URLs: []string{"stun:stun.example.com:3478"}},
		{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443"}},
		{URLs: []string{"turn:fixed.example.com"}, Username: "op", Credential: "fixed"},
	}
	client := wire.DefaultClientConfig()
	client.ICEServers = []wire.ICEServer{{URLs: []string{"stun:203.0.113.7:3478"}}, {URLs: []string{"turn:203.0.113.7:3479"}}}
	h, err := New(cfg, client, Options{Clock: clock.Now, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	url := serve(t, h)

	a := dial(t, url).join(swarmA, "", wire.Caps{})
	b := dial(t, url).join(swarmA, "", wire.Caps{})
	for _, w := range []*wire.Welcome{a, b} {
		got := w.Config.ICEServers
		if len(got) != 5 {
			t.Fatalf("welcome of %s: %d ICE servers %+v, want 5", w.PeerID, len(got), got)
		}
		wantURLs := []string{"stun:203.0.113.7:3478", "turn:203.0.113.7:3479", "stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp", "turn:fixed.example.com"}
		for i, u := range wantURLs {
			if got[i].URLs[0] != u {
				t.Errorf("ice_servers[%d] = %v, want %s first", i, got[i].URLs, u)
			}
		}
		for _, i := range []int{0, 2} {
			if got[i].Username != "" || got[i].Credential != "" {
				t.Errorf("STUN entry %d has a login %+v", i, got[i])
			}
		}
		if got[4].Username != "op" || got[4].Credential != "fixed" {
			t.Errorf("fixed login changed: %+v", got[4])
		}
		for _, i := range []int{1, 3} {
			s := got[i]
			wantUser := "1800003600:" + w.PeerID
			if s.Username != wantUser {
				t.Errorf("minted username %q, want %q", s.Username, wantUser)
			}
			if !wire.CheckTURNCredential([]byte(turnSecret), s.Username, s.Credential) {
				t.Errorf("minted credential %q does not check out", s.Credential)
			}
			if id, err := wire.CheckTURNUsername(s.Username, clock.Now().Add(59*time.Minute)); err != nil || id != w.PeerID {
				t.Errorf("CheckTURNUsername before expiry = %q, %v", id, err)
			}
			if _, err := wire.CheckTURNUsername(s.Username, clock.Now().Add(time.Hour)); err != wire.ErrTURNExpired {
				t.Errorf("CheckTURNUsername at expiry: %v, want expired", err)
			}
		}
	}
	if a.Config.ICEServers[1].Credential == b.Config.ICEServers[1].Credential {
		t.Error("two viewers got the same TURN credential")
	}
	// A later join gets a later expiry.
	clock.Advance(10 * time.Minute)
	c := dial(t, url).join(swarmB, "", wire.Caps{})
	if u := c.Config.ICEServers[1].Username; !strings.HasPrefix(u, "1800004200:") {
		t.Errorf("username after 10 minutes %q", u)
	}
}
