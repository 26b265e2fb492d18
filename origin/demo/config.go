package demo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgeswarm/edgeswarm/units"
)

// Config configures the demo origin. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Window is the number of segments in a live media playlist (>= 10, default 12).
	Window int `yaml:"window"`
	// Synthetic switches to synthetic segments (bytes are not playable media).
	// SegmentSize, SegmentDuration and Renditions apply only in this mode; the
	// real clip always has three renditions of 2 s segments.
	Synthetic bool `yaml:"synthetic"`
	// SegmentSize is the synthetic segment size, e.g. 512KiB (default 1 MiB).
	SegmentSize units.ByteSize `yaml:"segment_size"`
	// SegmentDuration is the synthetic segment duration (default 2s).
	SegmentDuration time.Duration `yaml:"segment_duration"`
	// Renditions is the number of synthetic renditions (default 3).
	Renditions int `yaml:"renditions"`
	// CacheControl, when set, is the Cache-Control of every playlist and
	// segment instead of the demo's own (max-age based) values: "no-cache"
	// acts like a live packager that wants every reuse revalidated.
	CacheControl string `yaml:"cache_control"`
	// NewStream starts the live stream when the origin starts: its media
	// playlists answer 404 until the first segment is complete and then
	// list only the segments since, as a stream that just went live.
	NewStream bool `yaml:"new_stream"`
}

// Limits checked by Validate.
const (
	minWindow          = 10
	maxWindow          = 1000
	maxSegmentSize     = 64 << 20
	minSegmentDuration = 100 * time.Millisecond
	maxSegmentDuration = time.Minute
	maxRenditions      = 16
)

// DefaultConfig returns the configuration used when none is given: the real
// clip, a 12-segment live window.
func DefaultConfig() Config {
	return Config{
		Window:          12,
		SegmentSize:     1 << 20,
		SegmentDuration: 2 * time.Second,
		Renditions:      3,
	}
}

// Validate reports every invalid field; each message names its yaml key.
func (c Config) Validate() error {
	var errs []error
	if strings.ContainsAny(c.CacheControl, "\r\n\x00") {
		errs = append(errs, fmt.Errorf("cache_control: %q is not a header value", c.CacheControl))
	}
	if c.Window < minWindow || c.Window > maxWindow {
		errs = append(errs, fmt.Errorf("window: must be between %d and %d segments, got %d", minWindow, maxWindow, c.Window))
	}
	if c.SegmentSize < 1 || c.SegmentSize > maxSegmentSize {
		errs = append(errs, fmt.Errorf("segment_size: must be between 1B and %s, got %s", units.ByteSize(maxSegmentSize), c.SegmentSize))
	}
	if c.SegmentDuration < minSegmentDuration || c.SegmentDuration > maxSegmentDuration {
		errs = append(errs, fmt.Errorf("segment_duration: must be between %v and %v, got %v", minSegmentDuration, maxSegmentDuration, c.SegmentDuration))
	}
	if c.Renditions < 1 || c.Renditions > maxRenditions {
		errs = append(errs, fmt.Errorf("renditions: must be between 1 and %d, got %d", maxRenditions, c.Renditions))
	}
	return errors.Join(errs...)
}
