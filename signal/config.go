package signal

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/wire"
)

// Config configures the tracker. The yaml keys live under "signal" in the
// node's configuration file.
type Config struct {
	// Open admits joins without a ticket: anyone who knows a swarm's name
	// may join it. Off by default: a join needs the ticket the HTTP front
	// attached to an authorized playlist response.
	Open bool `yaml:"open"`
	// TicketSecret is the HMAC-SHA256 key of swarm tickets, at least 16
	// bytes. Required unless Open. Nodes that share swarms share it.
	TicketSecret string `yaml:"ticket_secret"`
	// TicketTTL is how long a ticket admits joins after it was issued.
	// A joined peer stays joined after its ticket expired.
	TicketTTL time.Duration `yaml:"ticket_ttl"`
	// MaxCandidates (K) bounds the viewer candidates a joining peer gets,
	// 1..63. The node's super-peer is offered in addition to these K.
	MaxCandidates int `yaml:"max_candidates"`
	// MaxSwarmPeers bounds the viewers of one swarm; a join beyond it is
	// refused with swarm_full. Super-peers are not counted.
	MaxSwarmPeers int `yaml:"max_swarm_peers"`
	// MaxPeers bounds the viewers joined on this node across all swarms.
	MaxPeers int `yaml:"max_peers"`
	// SendQueue is the length of a connection's send queue, in messages.
	// A client whose queue is full is disconnected (reason "slow"): a slow
	// reader never makes the node buffer more.
	SendQueue int `yaml:"send_queue"`
	// SeederSendQueue is the send queue of in-process super-peer
	// connections, which receive the relays of a whole swarm.
	SeederSendQueue int `yaml:"seeder_send_queue"`
	// JoinTimeout closes a connection that has not joined this long after
	// it opened or after its last leave.
	JoinTimeout time.Duration `yaml:"join_timeout"`
	// PingInterval is the period of the server's WebSocket pings.
	PingInterval time.Duration `yaml:"ping_interval"`
	// PongTimeout: a connection from which nothing (no message, no pong)
	// arrived for PingInterval+PongTimeout is closed.
	PongTimeout time.Duration `yaml:"pong_timeout"`
	// WriteTimeout bounds one WebSocket write.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MessageRate and MessageBurst limit every client message (token
	// bucket, per connection, messages per second).
	MessageRate  float64 `yaml:"message_rate"`
	MessageBurst int     `yaml:"message_burst"`
	// RelayRate and RelayBurst limit relays further.
	RelayRate  float64 `yaml:"relay_rate"`
	RelayBurst int     `yaml:"relay_burst"`
	// QueryRate and QueryBurst limit digest queries further.
	QueryRate  float64 `yaml:"query_rate"`
	QueryBurst int     `yaml:"query_burst"`
	// RateStrikes is how many consecutive rate-limited messages a client
	// may send before it is disconnected.
	RateStrikes int `yaml:"rate_strikes"`
	// DigestsKept bounds the segment digests kept per swarm (the most
	// recent ones), sent after welcome and used to answer digest queries.
	DigestsKept int `yaml:"digests_kept"`
	// IdleSwarms bounds the swarms without peers whose digests are kept
	// (so that the first viewer of a swarm gets the digests of segments
	// cached before it joined). The least recently used are dropped.
	IdleSwarms int `yaml:"idle_swarms"`
	// ReportThreshold: a peer is no longer offered as a candidate once the
	// reports against it that the swarm's digests bear out, one per
	// reporting source address, each weighed by its reporter's standing
	// (1 for a reporter in good standing, less for one that is itself
	// reported or whose reports the digests refuted), add up to this.
	ReportThreshold int `yaml:"report_threshold"`
	// StatsMaxRate bounds, in bytes per second, how fast any byte counter
	// of a client's stats may grow: a report claiming more than this over
	// the time since the last accepted one is rejected.
	StatsMaxRate int64 `yaml:"stats_max_rate"`
	// StatsSlack is the factor by which a client's p2p and seed bytes may
	// exceed the bytes of the segments whose digests the swarm published
	// since its join (uploads: that times the client's max_peers+3).
	StatsSlack float64 `yaml:"stats_slack"`
	// ICEServers are the STUN and TURN servers every viewer gets in its
	// welcome (RTCConfiguration.iceServers), after the node's own.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// TURNSecret is the secret shared with TURN relays that check TURN
	// REST credentials (coturn's use-auth-secret, or the node's own relay).
	// With it, every ice_servers entry with a turn: or turns: URL and no
	// fixed credential gets a username and credential minted for each
	// join, valid for TURNTTL. At least 16 bytes.
	TURNSecret string `yaml:"turn_secret"`
	// TURNTTL is how long minted TURN credentials admit new allocations
	// and refreshes.
	TURNTTL time.Duration `yaml:"turn_ttl"`
	// Pollers is how many goroutines read the viewers' WebSockets, each
	// waiting on many sockets at once (Linux, epoll): a message then costs
	// one read, and an idle viewer no goroutine (about 4 KiB of stack).
	// 0 reads each connection on a goroutine of its own, as on other
	// systems and for connections that are no plain socket (TLS). Off by
	// default: the pollers save memory per idle viewer but no measurable
	// CPU yet, and their relay p99 was higher in the one run that compared.
	Pollers int `yaml:"pollers"`
}

// ICEServer is one STUN or TURN server offered to viewers.
type ICEServer struct {
	// URLs are stun:, stuns:, turn: or turns: URLs.
	URLs []string `yaml:"urls"`
	// Username and Credential are a fixed TURN login. Leave both empty
	// for turn: URLs to have credentials minted from turn_secret: a fixed
	// password is visible to every page that plays.
	Username   string `yaml:"username"`
	Credential string `yaml:"credential"`
}

// DefaultConfig returns the defaults. Its TicketSecret is empty, so it
// does not validate until the operator sets a secret or opens swarms.
func DefaultConfig() Config {
	return Config{
		TicketTTL:       10 * time.Minute,
		MaxCandidates:   10,
		MaxSwarmPeers:   10000,
		MaxPeers:        100000,
		SendQueue:       64,
		SeederSendQueue: 4096,
		JoinTimeout:     10 * time.Second,
		PingInterval:    20 * time.Second,
		PongTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		MessageRate:     50,
		MessageBurst:    200,
		RelayRate:       40,
		RelayBurst:      200,
		QueryRate:       5,
		QueryBurst:      20,
		RateStrikes:     20,
		DigestsKept:     64,
		IdleSwarms:      1024,
		ReportThreshold: 3,
		StatsMaxRate:    125_000_000, // 1 Gbit/s
		StatsSlack:      2,
		TURNTTL:         6 * time.Hour,
		Pollers:         0,
	}
}

// maxPollers bounds Config.Pollers.
const maxPollers = 256

// MinTicketSecret is the shortest accepted ticket secret, in bytes.
const MinTicketSecret = 16

// maxDigestsPerJoinMessage is the fewest digests that always fit one
// digest message (keys of MaxKeyLen bytes, every byte escaped).
const maxDigestsPerJoinMessage = (wire.MaxMessageSize - 64) / (2*wire.MaxKeyLen + digestOverhead)

// Validate reports the first invalid field, naming its yaml key.
func (c Config) Validate() error {
	type check struct {
		bad bool
		key string
		msg string
	}
	checks := []check{
		{!c.Open && c.TicketSecret == "", "ticket_secret", "required unless signal.open is true"},
		{!c.Open && c.TicketSecret != "" && len(c.TicketSecret) < MinTicketSecret, "ticket_secret", fmt.Sprintf("%d bytes is too short (at least %d)", len(c.TicketSecret), MinTicketSecret)},
		{c.TicketTTL < time.Second, "ticket_ttl", "must be at least 1s"},
		{c.MaxCandidates < 1 || c.MaxCandidates > wire.MaxPeersPerMessage-1, "max_candidates", fmt.Sprintf("%d is outside 1..%d", c.MaxCandidates, wire.MaxPeersPerMessage-1)},
		{c.MaxSwarmPeers < 1, "max_swarm_peers", "must be positive"},
		{c.MaxPeers < 1, "max_peers", "must be positive"},
		{c.SendQueue < 2+ceilDiv(c.DigestsKept, maxDigestsPerJoinMessage), "send_queue", fmt.Sprintf("%d is too short to hold a join's answer (at least %d with digests_kept %d)", c.SendQueue, 2+ceilDiv(c.DigestsKept, maxDigestsPerJoinMessage), c.DigestsKept)},
		{c.SeederSendQueue < c.SendQueue, "seeder_send_queue", "must be at least send_queue"},
		{c.JoinTimeout <= 0, "join_timeout", "must be positive"},
		{c.PingInterval <= 0, "ping_interval", "must be positive"},
		{c.PongTimeout <= 0, "pong_timeout", "must be positive"},
		{c.WriteTimeout <= 0, "write_timeout", "must be positive"},
		{!(c.MessageRate > 0), "message_rate", "must be positive"},
		{c.MessageBurst < 1, "message_burst", "must be at least 1"},
		{!(c.RelayRate > 0), "relay_rate", "must be positive"},
		{c.RelayBurst < 1, "relay_burst", "must be at least 1"},
		{!(c.QueryRate > 0), "query_rate", "must be positive"},
		{c.QueryBurst < 1, "query_burst", "must be at least 1"},
		{c.RateStrikes < 1, "rate_strikes", "must be at least 1"},
		{c.DigestsKept < 1, "digests_kept", "must be at least 1"},
		{c.IdleSwarms < 0, "idle_swarms", "must not be negative"},
		{c.ReportThreshold < 1, "report_threshold", "must be at least 1"},
		{c.StatsMaxRate < 1, "stats_max_rate", "must be positive"},
		{!(c.StatsSlack >= 1), "stats_slack", "must be at least 1"},
		{c.Pollers < 0 || c.Pollers > maxPollers, "pollers", fmt.Sprintf("%d is outside 0..%d", c.Pollers, maxPollers)},
	}
	for _, k := range c.iceChecks() {
		checks = append(checks, check(k))
	}
	var errs []error
	for _, k := range checks {
		if k.bad {
			errs = append(errs, fmt.Errorf("signal.%s: %s", k.key, k.msg))
		}
	}
	return errors.Join(errs...)
}

// iceCheck is one check of Validate.
type iceCheck struct {
	bad bool
	key string
	msg string
}

// iceChecks are the checks of ice_servers, turn_secret and turn_ttl.
func (c Config) iceChecks() []iceCheck {
	checks := []iceCheck{
		{len(c.ICEServers) > wire.MaxICEServers-2, "ice_servers", fmt.Sprintf("%d entries, at most %d (two more are kept for the node's own STUN and TURN)", len(c.ICEServers), wire.MaxICEServers-2)},
		{c.TURNSecret != "" && len(c.TURNSecret) < MinTicketSecret, "turn_secret", fmt.Sprintf("%d bytes is too short (at least %d)", len(c.TURNSecret), MinTicketSecret)},
		{c.TURNTTL < time.Minute, "turn_ttl", "must be at least 1m"},
	}
	for i, s := range c.ICEServers {
		key := fmt.Sprintf("ice_servers[%d]", i)
		ws := wire.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}
		cc := wire.ClientConfig{ICEServers: []wire.ICEServer{ws}}
		if err := checkICEServer(&cc); err != nil {
			checks = append(checks, iceCheck{true, key, err.Error()})
			continue
		}
		turn := slices.ContainsFunc(s.URLs, wire.IsTURNURL)
		checks = append(checks,
			iceCheck{(s.Username == "") != (s.Credential == ""), key, "set both username and credential, or neither"},
			iceCheck{turn && s.Credential == "" && c.TURNSecret == "", key, "a turn: URL without credential needs signal.turn_secret to mint one per viewer"},
		)
	}
	return checks
}

// checkICEServer validates the one ICE server of cc with wire's rules and
// returns the reason without wire's field path.
func checkICEServer(cc *wire.ClientConfig) error {
	d := wire.DefaultClientConfig()
	d.ICEServers = cc.ICEServers
	err := d.Validate()
	var we *wire.Error
	if errors.As(err, &we) {
		msg := strings.TrimPrefix(we.Message, "config.ice_servers[0].")
		return errors.New(msg)
	}
	return err
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
