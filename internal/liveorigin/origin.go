package liveorigin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grafov/m3u8"
)

// MasterPath is the path of the multivariant playlist.
const MasterPath = "/live/master.m3u8"

// Origin is a running ffmpeg encoder writing a live HLS stream into a
// temporary directory. Close stops it and removes the directory.
type Origin struct {
	cfg  Config
	log  *slog.Logger
	dir  string
	cmd  *exec.Cmd
	wake chan struct{} // a token after each line ffmpeg logs
	done chan struct{} // closed when ffmpeg has exited

	mu      sync.Mutex
	tail    []string // ffmpeg's last log lines
	waitErr error    // set before done is closed

	closeOnce sync.Once
	closeErr  error
}

// Playlist is what the media playlist lists right now.
type Playlist struct {
	// MediaSequence is the sequence number of the first segment listed.
	MediaSequence uint64
	// Segments are the URIs listed, relative to the media playlist.
	Segments []string
	// Durations are the segments' EXTINF durations, in seconds.
	Durations []float64
	// TargetDuration is EXT-X-TARGETDURATION, in seconds.
	TargetDuration float64
}

// tailLines is how many of ffmpeg's last log lines errors quote.
const tailLines = 12

// Start starts ffmpeg with cfg, writing into a new temporary directory.
// The stream is live from then on; Ready waits for its first segments.
// ctx bounds only the start: the encoder runs until Close.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Origin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("liveorigin: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("liveorigin: ffmpeg not found (%w): install Debian's ffmpeg package", err)
	}
	dir, err := os.MkdirTemp("", "edgeswarm-liveorigin-")
	if err != nil {
		return nil, fmt.Errorf("liveorigin: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "live", cfg.Rendition), 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("liveorigin: %w", err)
	}
	cmd := exec.Command(bin, ffmpegArgs(cfg)...)
	cmd.Dir = dir
	cmd.SysProcAttr = procAttr()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("liveorigin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("liveorigin: starting ffmpeg: %w", err)
	}
	o := &Origin{cfg: cfg, log: log, dir: dir, cmd: cmd, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go o.watch(stderr)
	log.Info("live origin encoding", "dir", dir, "video", fmt.Sprintf("libx264 %dx%d %d fps %d kbit/s", cfg.Width, cfg.Height, cfg.FrameRate, cfg.VideoBitrate/1000),
		"gop", cfg.GOP, "segment", cfg.SegmentDuration, "window", cfg.Window)
	return o, nil
}

// ffmpegArgs is the command line: two real-time lavfi sources, libx264
// with a fixed GOP and no scene-cut keyframes (every segment starts with
// an IDR frame and lasts SegmentDuration exactly), AAC, and the HLS muxer
// with a sliding window, program date-times, and files written under a
// temporary name and renamed when complete.
func ffmpegArgs(c Config) []string {
	kbps := strconv.Itoa(c.VideoBitrate/1000) + "k"
	seconds := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
	return []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", c.Width, c.Height, c.FrameRate),
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:beep_factor=4:sample_rate=%d", c.AudioRate),
		"-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", c.Preset, "-profile:v", "main", "-pix_fmt", "yuv420p",
		"-b:v", kbps, "-maxrate", kbps, "-bufsize", strconv.Itoa(2*c.VideoBitrate/1000) + "k",
		"-g", strconv.Itoa(c.gopFrames()), "-keyint_min", strconv.Itoa(c.gopFrames()), "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", strconv.Itoa(c.AudioBitrate/1000) + "k", "-ac", "2",
		"-f", "hls", "-hls_time", seconds(c.SegmentDuration), "-hls_list_size", strconv.Itoa(c.Window),
		"-hls_flags", "delete_segments+program_date_time+independent_segments+temp_file",
		"-hls_segment_type", "mpegts",
		"-master_pl_name", path.Base(MasterPath),
		"-var_stream_map", "v:0,a:0,name:" + c.Rendition,
		"-hls_segment_filename", "live/%v/%d.ts",
		"live/%v/index.m3u8",
	}
}

// watch reads ffmpeg's log: every line (ffmpeg logs each file it opens)
// is a moment the playlist may have changed.
func (o *Origin) watch(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		o.mu.Lock()
		o.tail = append(o.tail, line)
		if len(o.tail) > tailLines {
			o.tail = o.tail[len(o.tail)-tailLines:]
		}
		o.mu.Unlock()
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
	_, _ = io.Copy(io.Discard, r)
	err := o.cmd.Wait()
	o.mu.Lock()
	o.waitErr = err
	o.mu.Unlock()
	close(o.done)
}

// Config is the setup the origin encodes with.
func (o *Origin) Config() Config { return o.cfg }

// Dir is the directory ffmpeg writes into; Handler serves it.
func (o *Origin) Dir() string { return o.dir }

// MediaPath is the path of the media playlist.
func (o *Origin) MediaPath() string { return "/live/" + o.cfg.Rendition + "/index.m3u8" }

// Playlist reads the media playlist as it is on disk now.
func (o *Origin) Playlist() (Playlist, error) {
	f, err := os.Open(filepath.Join(o.dir, filepath.FromSlash(o.MediaPath())))
	if err != nil {
		return Playlist{}, err
	}
	defer f.Close()
	pl, kind, err := m3u8.DecodeFrom(bufio.NewReader(io.LimitReader(f, 1<<20)), true)
	if err != nil {
		return Playlist{}, fmt.Errorf("media playlist: %w", err)
	}
	mp, ok := pl.(*m3u8.MediaPlaylist)
	if kind != m3u8.MEDIA || !ok {
		return Playlist{}, errors.New("media playlist: not a media playlist")
	}
	p := Playlist{MediaSequence: mp.SeqNo, TargetDuration: mp.TargetDuration}
	for _, s := range mp.GetAllSegments() {
		p.Segments = append(p.Segments, s.URI)
		p.Durations = append(p.Durations, s.Duration)
	}
	return p, nil
}

// Wait returns the first media playlist for which ok is true. It fails
// when ctx ends or ffmpeg exits first, quoting ffmpeg's last lines.
func (o *Origin) Wait(ctx context.Context, ok func(Playlist) bool) (Playlist, error) {
	for {
		// The playlist is renamed into place complete, so a read sees
		// either the old or the new one; not existing yet is not an error.
		p, err := o.Playlist()
		if err == nil && ok(p) {
			return p, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return Playlist{}, fmt.Errorf("liveorigin: %w", err)
		}
		select {
		case <-o.wake:
		case <-o.done:
			o.mu.Lock()
			err := fmt.Errorf("liveorigin: ffmpeg exited (%v); its log ends with:\n\t%s", o.waitErr, strings.Join(o.tail, "\n\t"))
			o.mu.Unlock()
			return Playlist{}, err
		case <-ctx.Done():
			return Playlist{}, fmt.Errorf("liveorigin: waiting for the media playlist: %w", ctx.Err())
		}
	}
}

// Ready waits until the media playlist lists at least n segments.
func (o *Origin) Ready(ctx context.Context, n int) (Playlist, error) {
	return o.Wait(ctx, func(p Playlist) bool { return len(p.Segments) >= n })
}

// Close stops ffmpeg and removes its directory. It is safe to call more
// than once.
func (o *Origin) Close() error {
	o.closeOnce.Do(func() {
		select {
		case <-o.done:
		default:
			_ = o.cmd.Process.Kill()
			<-o.done
		}
		o.closeErr = os.RemoveAll(o.dir)
	})
	return o.closeErr
}
