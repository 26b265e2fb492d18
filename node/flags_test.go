package node

import (
	"strings"
	"testing"
)

// A boolean flag takes its value in either form scripts write: "--super-peer
// false" must turn the super-peer off, not stop the node with a stray
// argument (or, worse, leave it on).
func TestBoolFlagsTakeASeparateValue(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, tt := range []struct {
		args  []string
		super bool
		open  bool
	}{
		{[]string{"--super-peer", "false"}, false, false},
		{[]string{"--super-peer=false", "--open-swarms", "true"}, false, true},
		{[]string{"-super-peer", "false", "--open-swarms"}, false, true},
		{[]string{"--super-peer"}, true, false},
		{[]string{"--open-swarms", "false", "--super-peer", "true"}, true, false},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg, err := ParseConfig(tt.args, noEnv, &strings.Builder{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SuperPeer != tt.super || cfg.Signal.Open != tt.open {
				t.Fatalf("super_peer %v, signal.open %v; want %v, %v", cfg.SuperPeer, cfg.Signal.Open, tt.super, tt.open)
			}
		})
	}
	// A value that is not a boolean is still a stray argument, and a
	// string flag keeps "true" as its value.
	if _, err := ParseConfig([]string{"--super-peer", "maybe"}, noEnv, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), `unexpected argument "maybe"`) {
		t.Fatalf("--super-peer maybe: %v", err)
	}
}
