package liveorigin

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Config is the encoder and playlist setup of a live origin.
type Config struct {
	// FFmpeg is the ffmpeg binary: a path, or a name looked up in PATH.
	FFmpeg string `yaml:"ffmpeg"`
	// Rendition names the one variant; it is its directory under /live/.
	Rendition string `yaml:"rendition"`
	// Width and Height of the video, in pixels (even numbers).
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// FrameRate in frames per second.
	FrameRate int `yaml:"frame_rate"`
	// VideoBitrate is libx264's target (and maximum) bitrate in bit/s.
	VideoBitrate int `yaml:"video_bitrate"`
	// Preset is libx264's speed preset.
	Preset string `yaml:"preset"`
	// GOP is the distance between two keyframes; scene-cut keyframes are off.
	GOP time.Duration `yaml:"gop"`
	// SegmentDuration is the duration of a segment, a whole number of GOPs.
	SegmentDuration time.Duration `yaml:"segment_duration"`
	// Window is how many segments the live media playlist lists; older
	// segments are deleted.
	Window int `yaml:"window"`
	// AudioRate is the sample rate of the AAC tone, in Hz.
	AudioRate int `yaml:"audio_rate"`
	// AudioBitrate is the AAC bitrate in bit/s.
	AudioBitrate int `yaml:"audio_bitrate"`
}

// DefaultConfig is an encoder setup unlike the demo origin's (which has
// 2 s segments of 640x360 at 25 fps and 400 kbit/s for its middle
// rendition, 48 kHz audio): 854x480 at 30 fps, 800 kbit/s, a 2 s GOP,
// 4 s segments, a 10-segment window, 44.1 kHz audio at 96 kbit/s. Encoding
// it costs about a fifth of one core.
func DefaultConfig() Config {
	return Config{
		FFmpeg:          "ffmpeg",
		Rendition:       "480p",
		Width:           854,
		Height:          480,
		FrameRate:       30,
		VideoBitrate:    800_000,
		Preset:          "veryfast",
		GOP:             2 * time.Second,
		SegmentDuration: 4 * time.Second,
		Window:          10,
		AudioRate:       44100,
		AudioBitrate:    96_000,
	}
}

var (
	renditionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	presets       = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}
)

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	switch {
	case c.FFmpeg == "":
		return errors.New("ffmpeg: must name the ffmpeg binary")
	case !renditionName.MatchString(c.Rendition):
		return fmt.Errorf("rendition: %q must be 1 to 32 letters, digits, '-' or '_'", c.Rendition)
	case c.Width < 16 || c.Width > 7680 || c.Width%2 != 0:
		return fmt.Errorf("width: %d must be an even number of pixels between 16 and 7680", c.Width)
	case c.Height < 16 || c.Height > 4320 || c.Height%2 != 0:
		return fmt.Errorf("height: %d must be an even number of pixels between 16 and 4320", c.Height)
	case c.FrameRate < 1 || c.FrameRate > 120:
		return fmt.Errorf("frame_rate: %d must be between 1 and 120", c.FrameRate)
	case c.VideoBitrate < 10_000 || c.VideoBitrate > 100_000_000:
		return fmt.Errorf("video_bitrate: %d bit/s must be between 10 kbit/s and 100 Mbit/s", c.VideoBitrate)
	case !slices.Contains(presets, c.Preset):
		return fmt.Errorf("preset: %q is not a libx264 preset", c.Preset)
	case c.GOP <= 0 || c.GOP%time.Millisecond != 0:
		return fmt.Errorf("gop: %v must be a positive whole number of milliseconds", c.GOP)
	case int64(c.GOP)*int64(c.FrameRate)%int64(time.Second) != 0:
		return fmt.Errorf("gop: %v is not a whole number of frames at %d fps", c.GOP, c.FrameRate)
	case c.SegmentDuration < c.GOP || c.SegmentDuration%c.GOP != 0:
		return fmt.Errorf("segment_duration: %v must be a whole number of GOPs (%v)", c.SegmentDuration, c.GOP)
	case c.SegmentDuration > time.Minute:
		return fmt.Errorf("segment_duration: %v must be at most 1m", c.SegmentDuration)
	case c.Window < 2 || c.Window > 1000:
		return fmt.Errorf("window: %d must be between 2 and 1000 segments", c.Window)
	case c.AudioRate < 8000 || c.AudioRate > 96000:
		return fmt.Errorf("audio_rate: %d Hz must be between 8000 and 96000", c.AudioRate)
	case c.AudioBitrate < 8_000 || c.AudioBitrate > 512_000:
		return fmt.Errorf("audio_bitrate: %d bit/s must be between 8 and 512 kbit/s", c.AudioBitrate)
	}
	return nil
}

// gopFrames is the keyframe interval in frames.
func (c Config) gopFrames() int {
	return int(int64(c.GOP) * int64(c.FrameRate) / int64(time.Second))
}
