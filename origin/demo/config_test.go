package demo

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config is invalid: %v", err)
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantKey string
	}{
		{"small window", func(c *Config) { c.Window = 9 }, "window"},
		{"huge window", func(c *Config) { c.Window = 100000 }, "window"},
		{"zero size", func(c *Config) { c.SegmentSize = 0 }, "segment_size"},
		{"huge size", func(c *Config) { c.SegmentSize = 1 << 30 }, "segment_size"},
		{"zero duration", func(c *Config) { c.SegmentDuration = 0 }, "segment_duration"},
		{"tiny duration", func(c *Config) { c.SegmentDuration = time.Millisecond }, "segment_duration"},
		{"no renditions", func(c *Config) { c.Renditions = 0 }, "renditions"},
		{"many renditions", func(c *Config) { c.Renditions = 100 }, "renditions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantKey+":") {
				t.Fatalf("Validate() = %v, want an error about %s", err, tt.wantKey)
			}
			if _, err := New(cfg, nil); err == nil {
				t.Errorf("New accepted the invalid config")
			}
		})
	}
	cfg := Config{}
	if err := cfg.Validate(); err == nil || strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("zero Config: want all four fields reported, got %v", err)
	}
}
