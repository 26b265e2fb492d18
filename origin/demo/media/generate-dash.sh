#!/bin/sh
# generate-dash.sh regenerates the demo clip as DASH (fragmented MP4): the
# same 16 s of test pattern and tone as generate.sh, encoded the same way,
# as two video Representations (low/, mid/) and one audio Representation
# (audio/), each an init.mp4 and eight 2 s segments 0.m4s .. 7.m4s. The
# server writes the manifests itself and never needs ffmpeg.
#
# Timing rules the Go code relies on (see generate.sh): every video segment
# is exactly 2 s (50 frames, starting with an IDR frame); the audio is 750
# AAC frames, exactly 16 s, cut into segments of whole frames; every
# segment has a version 1 tfdt (64-bit decode time).
#
# Usage: sh generate-dash.sh   (from any directory; needs ffmpeg with libx264)
set -eu

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ff="ffmpeg -hide_banner -loglevel error -y"

# The audio of generate.sh: a periodic tone, the second 16 s period kept.
$ff -f lavfi -i "sine=frequency=1000:beep_factor=2:sample_rate=48000:duration=33" \
	-ac 2 -c:a aac -b:a 64k "$tmp/audio33.m4a"
$ff -ss 16 -i "$tmp/audio33.m4a" -t 16 -c:a copy "$tmp/audio.m4a"

dash="-f dash -seg_duration 2 -use_template 1 -use_timeline 0"

# renumber DIR: ffmpeg numbers segments from 1; the server from 0.
renumber() {
	n=1
	while [ -f "$tmp/$1/$n.m4s" ]; do
		mv "$tmp/$1/$n.m4s" "dash/$1/$((n - 1)).m4s"
		n=$((n + 1))
	done
	mv "$tmp/$1/init.mp4" "dash/$1/init.mp4"
}

rm -rf dash
# rendition name, size, video bitrate (kbit/s)
for spec in "low 416x234 150" "mid 640x360 400"; do
	set -- $spec
	name=$1 size=$2 kbps=$3
	mkdir -p "dash/$name" "$tmp/$name"
	$ff -f lavfi -i "testsrc2=size=$size:rate=25:duration=16" \
		-vf "drawtext=font=monospace:fontsize=h/10:fontcolor=white:box=1:boxcolor=black@0.6:x=(w-tw)/2:y=h-th-h/20:text='edgeswarm $name %{eif\:n\:d\:4}'" \
		-map 0:v \
		-c:v libx264 -preset medium -profile:v main -level 3.1 -pix_fmt yuv420p \
		-b:v "${kbps}k" -maxrate "${kbps}k" -bufsize "$((kbps * 2))k" \
		-g 50 -keyint_min 50 -sc_threshold 0 -bf 2 \
		-x264-params "nal-hrd=none" \
		$dash -init_seg_name "$name/init.mp4" -media_seg_name "$name/\$Number\$.m4s" "$tmp/$name.mpd"
	renumber "$name"
done
mkdir -p dash/audio "$tmp/audio"
$ff -i "$tmp/audio.m4a" -map 0:a -c:a copy \
	$dash -init_seg_name "audio/init.mp4" -media_seg_name "audio/\$Number\$.m4s" "$tmp/audio.mpd"
renumber audio
