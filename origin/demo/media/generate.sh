#!/bin/sh
# generate.sh regenerates the demo clip: 16 s of a test pattern with a frame
# counter and a beeping tone, as H.264/AAC in MPEG-TS, three renditions of
# eight 2 s segments each (low/, mid/, high/). The server embeds the result and
# never needs ffmpeg itself.
#
# Timing rules the Go code relies on:
#   - 25 fps, a keyframe exactly every 50 frames, no scene-cut keyframes, so
#     every segment is exactly 2 s and starts with an IDR frame;
#   - 48 kHz AAC: 16 s are exactly 750 AAC frames, so the clip loops without a
#     gap or an overlap. The encoder's priming frame is skipped by encoding two
#     periods of the (16 s periodic) tone and keeping the second one.
#
# Usage: sh generate.sh   (run from any directory; needs ffmpeg with libx264)
set -eu

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ff="ffmpeg -hide_banner -loglevel error -y"

# Audio: a 1 kHz tone that beeps once a second is periodic with period 1 s,
# hence with 16 s. Encode 33 s and keep packets [16 s, 32 s).
$ff -f lavfi -i "sine=frequency=1000:beep_factor=2:sample_rate=48000:duration=33" \
	-ac 2 -c:a aac -b:a 64k "$tmp/audio33.m4a"
$ff -ss 16 -i "$tmp/audio33.m4a" -t 16 -c:a copy "$tmp/audio.m4a"

# rendition name, size, video bitrate (kbit/s)
for spec in "low 416x234 150" "mid 640x360 400" "high 960x540 800"; do
	set -- $spec
	name=$1 size=$2 kbps=$3
	rm -rf "$name"
	mkdir -p "$name"
	$ff -f lavfi -i "testsrc2=size=$size:rate=25:duration=16" -i "$tmp/audio.m4a" \
		-vf "drawtext=font=monospace:fontsize=h/10:fontcolor=white:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h-th-h/20:text='edgeswarm $name %{eif\:n\:d\:4}'" \
		-map 0:v -map 1:a \
		-c:v libx264 -preset medium -profile:v main -level 3.1 -pix_fmt yuv420p \
		-b:v "${kbps}k" -maxrate "${kbps}k" -bufsize "$((kbps * 2))k" \
		-g 50 -keyint_min 50 -sc_threshold 0 -bf 2 \
		-x264-params "nal-hrd=none" \
		-c:a copy \
		-f hls -hls_time 2 -hls_list_size 0 -hls_segment_type mpegts \
		-hls_segment_filename "$name/%d.ts" "$tmp/$name.m3u8"
done
