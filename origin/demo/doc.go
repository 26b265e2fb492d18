// Package demo implements the built-in demo origin: a live HLS stream and the
// same stream as VOD, made from a short committed H.264/AAC clip, plus a
// synthetic mode with configurable segment size and duration for benchmarks.
//
// Paths (the same under /vod/):
//
//	/live/master.m3u8             multivariant playlist (low, mid, high)
//	/live/<rendition>/index.m3u8  media playlist
//	/live/<rendition>/<seq>.ts    segment
//	/dash/live.mpd, /dash/vod.mpd the same clip as DASH (fMP4, dash.go)
//	/dash/timeline.mpd           the live DASH stream as SegmentTimeline, $Time$ names (dash_timeline.go)
//	/dash/ondemand.mpd           the clip as on-demand DASH, SegmentBase (dash_ondemand.go)
//	/ll/master.m3u8               the live stream as LL-HLS: parts, blocking reloads (ll.go)
//
// The live stream is computed from the clock alone: segment n covers
// [n*d, (n+1)*d) after the Unix epoch, so every process agrees on the live edge
// and a sequence number always yields the same bytes. The clip (media/, made
// by media/generate.sh) is looped with its MPEG-TS timestamps and continuity
// counters moved on by whole clip durations, so players see one continuous
// stream without discontinuities.
//
// It is a plain http.Handler: it never opens a listener of its own, never
// logs, and never needs ffmpeg at run time.
package demo
