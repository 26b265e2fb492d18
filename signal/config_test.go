package signal

import (
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // substring of the error; "" for valid
	}{
		{"defaults with secret", func(*Config) {}, ""},
		{"open without secret", func(c *Config) { c.Open, c.TicketSecret = true, "" }, ""},
		{"no secret", func(c *Config) { c.TicketSecret = "" }, "signal.ticket_secret: required"},
		{"short secret", func(c *Config) { c.TicketSecret = "short" }, "signal.ticket_secret: 5 bytes"},
		{"ttl", func(c *Config) { c.TicketTTL = 0 }, "signal.ticket_ttl"},
		{"k zero", func(c *Config) { c.MaxCandidates = 0 }, "signal.max_candidates"},
		{"k too big", func(c *Config) { c.MaxCandidates = wire.MaxPeersPerMessage }, "signal.max_candidates"},
		{"queue", func(c *Config) { c.SendQueue = 2 }, "signal.send_queue"},
		{"seeder queue", func(c *Config) { c.SeederSendQueue = 1 }, "signal.seeder_send_queue"},
		{"ping", func(c *Config) { c.PingInterval = 0 }, "signal.ping_interval"},
		{"rate", func(c *Config) { c.MessageRate = 0 }, "signal.message_rate"},
		{"digests", func(c *Config) { c.DigestsKept = 0 }, "signal.digests_kept"},
		{"join timeout", func(c *Config) { c.JoinTimeout = -time.Second }, "signal.join_timeout"},
		{"no pollers", func(c *Config) { c.Pollers = 0 }, ""},
		{"pollers", func(c *Config) { c.Pollers = -1 }, "signal.pollers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	if err := DefaultConfig().Validate(); err == nil {
		t.Error("DefaultConfig validates without a secret")
	}
}

func TestTicket(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tk := &ticketer{key: []byte(testSecret), ttl: 10 * time.Minute}
	good := tk.issue(swarmA, now)
	tests := []struct {
		name   string
		ticket string
		swarm  string
		at     time.Time
		want   error
	}{
		{"valid", good, swarmA, now, nil},
		{"valid until expiry", good, swarmA, now.Add(10 * time.Minute), nil},
		{"expired", good, swarmA, now.Add(10*time.Minute + time.Second), errTicketExpired},
		{"other swarm", good, swarmB, now, errTicketForged},
		{"missing", "", swarmA, now, errTicketMissing},
		{"no prefix", strings.TrimPrefix(good, "v1."), swarmA, now, errTicketMalformed},
		{"tampered expiry", strings.Replace(good, "v1.18", "v1.19", 1), swarmA, now, errTicketForged},
		{"leading zero", strings.Replace(good, "v1.", "v1.0", 1), swarmA, now, errTicketMalformed},
		{"short mac", good[:len(good)-1], swarmA, now, errTicketMalformed},
		{"other key", (&ticketer{key: []byte("xxxxxxxxxxxxxxxxxxxx"), ttl: time.Minute}).issue(swarmA, now), swarmA, now, errTicketForged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tk.verify(tc.ticket, tc.swarm, tc.at); err != tc.want {
				t.Fatalf("verify = %v, want %v", err, tc.want)
			}
		})
	}
	// A ticket is a valid join field whatever the swarm's length.
	long := strings.Repeat("k", wire.MaxKeyLen)
	if _, err := wire.Encode(&wire.Join{Swarm: long, Ticket: tk.issue(long, now)}); err != nil {
		t.Fatal(err)
	}
}

func FuzzVerifyTicket(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	tk := &ticketer{key: []byte(testSecret), ttl: 10 * time.Minute}
	f.Add(tk.issue(swarmA, now), swarmA)
	f.Add("v1.1.", "")
	f.Add("v1.-1.AAAA", swarmA)
	f.Fuzz(func(t *testing.T, ticket, swarm string) {
		if tk.verify(ticket, swarm, now) == nil && ticket != tk.issue(swarm, time.Unix(mustExpiry(t, ticket), 0).Add(-tk.ttl)) {
			t.Fatalf("accepted %q for %q, which the hub did not issue", ticket, swarm)
		}
	})
}

func mustExpiry(t *testing.T, ticket string) int64 {
	var exp int64
	for _, c := range strings.Split(ticket, ".")[1] {
		exp = exp*10 + int64(c-'0')
	}
	return exp
}

func TestTicketReusedWithinATenthOfItsTTL(t *testing.T) {
	tk := &ticketer{key: []byte(testSecret), ttl: 10 * time.Minute}
	now := time.Unix(1_800_000_000, 0)
	first := tk.issue(swarmA, now)
	if again := tk.issue(swarmA, now.Add(59*time.Second)); again != first {
		t.Fatal("a ticket issued 59 s later for the same swarm was recomputed")
	}
	later := tk.issue(swarmA, now.Add(61*time.Second))
	if later == first {
		t.Fatal("a ticket was reused past a tenth of its TTL")
	}
	if err := tk.verify(first, swarmA, now.Add(9*time.Minute)); err != nil {
		t.Fatalf("reused ticket no longer valid 9 minutes after issue: %v", err)
	}
	if tk.issue(swarmB, now) == first {
		t.Fatal("two swarms share a ticket")
	}
}
