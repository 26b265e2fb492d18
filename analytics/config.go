package analytics

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the analytics. The yaml keys live under "analytics"
// in the node's configuration file.
type Config struct {
	// Interval is the period of the viewers' reports, sent to clients in
	// their welcome (stats_interval_ms), 1s..10m.
	Interval time.Duration `yaml:"interval"`
	// MaxStreams bounds the streams with their own figures, history and
	// Prometheus label; the streams beyond it add up under "other". Each
	// costs at most about 4 MiB once its 7 days of history are full.
	MaxStreams int `yaml:"max_streams"`
	// MaxSwarms bounds the renditions tracked for the per-swarm view;
	// beyond it the least recently reported one is forgotten.
	MaxSwarms int `yaml:"max_swarms"`
	// MaxPlaylists bounds the playlists the node remembers having served,
	// which decide what is a stream or a rendition of its own.
	MaxPlaylists int `yaml:"max_playlists"`
	// BeaconSessions bounds the beacon sessions remembered (the last
	// report of each, for three intervals).
	BeaconSessions int `yaml:"beacon_sessions"`
	// BeaconsPerInterval is how many beacons one source address may send
	// per interval (a token bucket with twice as many as its burst). Set
	// it to the viewers expected behind one address (a NAT).
	BeaconsPerInterval float64 `yaml:"beacons_per_interval"`
	// MaxRate bounds, in bytes per second, how fast a beacon's byte
	// counters may grow (like signal.stats_max_rate).
	MaxRate int64 `yaml:"max_rate"`
	// PushInterval is the period of the dashboard's live updates.
	PushInterval time.Duration `yaml:"push_interval"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Interval:           10 * time.Second,
		MaxStreams:         16,
		MaxSwarms:          1024,
		MaxPlaylists:       16384,
		BeaconSessions:     100_000,
		BeaconsPerInterval: 32,
		MaxRate:            125_000_000, // 1 Gbit/s
		PushInterval:       2 * time.Second,
	}
}

// Validate reports the first bad key, named as in the file.
func (c Config) Validate() error {
	checks := []struct {
		bad      bool
		key, msg string
	}{
		{c.Interval < time.Second || c.Interval > 10*time.Minute || c.Interval%time.Millisecond != 0, "interval", "must be 1s..10m, whole milliseconds"},
		{c.MaxStreams < 1 || c.MaxStreams > 10_000, "max_streams", "must be 1..10000"},
		{c.MaxSwarms < 1 || c.MaxSwarms > 1_000_000, "max_swarms", "must be 1..1000000"},
		{c.MaxPlaylists < 1 || c.MaxPlaylists > 10_000_000, "max_playlists", "must be 1..10000000"},
		{c.BeaconSessions < 0, "beacon_sessions", "must not be negative (0: beacons are refused)"},
		{!(c.BeaconsPerInterval > 0), "beacons_per_interval", "must be positive"},
		{c.MaxRate < 1, "max_rate", "must be positive"},
		{c.PushInterval < 100*time.Millisecond, "push_interval", "must be at least 100ms"},
	}
	var errs []error
	for _, k := range checks {
		if k.bad {
			errs = append(errs, fmt.Errorf("analytics.%s: %s", k.key, k.msg))
		}
	}
	return errors.Join(errs...)
}
