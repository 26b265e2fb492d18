// Package liveorigin runs a live HLS origin that is not the demo origin:
// ffmpeg encodes a test pattern and a tone in real time (libx264 and AAC,
// lavfi sources, nothing downloaded) into a sliding-window HLS stream in a
// temporary directory, and Handler serves those files as a plain static
// file server would, with the cache headers a packager sends (no-cache,
// max-age, or none).
//
// It exists so that benchmarks and tests can measure the node against an
// origin whose encoder settings and headers the project did not pick for
// itself. Paths mirror the demo origin's:
//
//	/live/master.m3u8              multivariant playlist (one variant)
//	/live/<rendition>/index.m3u8   media playlist, Window segments
//	/live/<rendition>/<n>.ts       segment
//
// The package never opens a listener (callers serve Handler), never logs
// per request, and needs the ffmpeg binary at run time.
package liveorigin
