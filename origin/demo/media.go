package demo

import (
	"embed"
	"fmt"
	"io/fs"
	"time"
)

//go:generate sh media/generate.sh

// media holds the clip made by media/generate.sh: one folder per rendition,
// segments named 0.ts, 1.ts, ...
//
//go:embed media/low/*.ts media/mid/*.ts media/high/*.ts
var media embed.FS

// Properties of the committed clip, fixed by media/generate.sh.
const (
	clipSegmentDuration = 2 * time.Second
	clipFrameRate       = "25.000"
	// clipCodecs is H.264 Main profile level 3.1 with AAC-LC.
	clipCodecs = "avc1.4d401f,mp4a.40.2"
)

// clipRendition describes one rendition of the committed clip.
type clipRendition struct {
	name       string
	resolution string
}

// clipRenditions is ordered from the lowest bitrate to the highest.
var clipRenditions = [...]clipRendition{
	{name: "low", resolution: "416x234"},
	{name: "mid", resolution: "640x360"},
	{name: "high", resolution: "960x540"},
}

// clip is the loaded clip of one rendition: its segments with continuity
// counters renumbered to run on across the whole clip.
type clip struct {
	segments [][]byte
	counts   *ccCounts
}

// loadClip reads and checks the embedded segments of every rendition. All
// renditions must have the same number of segments.
func loadClip(fsys fs.FS) ([]clip, error) {
	clips := make([]clip, len(clipRenditions))
	for i, r := range clipRenditions {
		var segs [][]byte
		for n := 0; ; n++ {
			b, err := fs.ReadFile(fsys, fmt.Sprintf("media/%s/%d.ts", r.name, n))
			if err != nil {
				break
			}
			if err := tsPacketsValid(b); err != nil {
				return nil, fmt.Errorf("demo media %s/%d.ts: %w", r.name, n, err)
			}
			segs = append(segs, b)
		}
		if len(segs) == 0 {
			return nil, fmt.Errorf("demo media: rendition %s has no segments", r.name)
		}
		if i > 0 && len(segs) != len(clips[0].segments) {
			return nil, fmt.Errorf("demo media: rendition %s has %d segments, %s has %d",
				r.name, len(segs), clipRenditions[0].name, len(clips[0].segments))
		}
		clips[i] = clip{segments: segs, counts: normalizeCC(segs)}
	}
	return clips, nil
}
