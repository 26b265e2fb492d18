import assert from "node:assert/strict";
import { test } from "node:test";
import { bufferedAhead, MediaLike, mediaSample, playhead } from "../../src/adapters/media";

const ranges = (rs: [number, number][]): TimeRanges => ({
  length: rs.length, start: (i: number) => rs[i]![0], end: (i: number) => rs[i]![1],
}) as TimeRanges;

function video(o: Partial<MediaLike> & { dropped?: number; total?: number } = {}): MediaLike {
  return {
    currentTime: 10, playbackRate: 1, paused: false, ended: false, buffered: ranges([[0, 4], [9.9, 16]]),
    getVideoPlaybackQuality: () => ({ droppedVideoFrames: o.dropped ?? 3, totalVideoFrames: o.total ?? 300 }),
    ...o,
  };
}

test("the forward buffer is the range that holds the playhead", () => {
  assert.ok(Math.abs(bufferedAhead(video())! - 6) < 1e-9);
  assert.equal(bufferedAhead(video({ buffered: ranges([[0, 4]]) })), 0, "nothing ahead: stalling");
  assert.ok(Math.abs(bufferedAhead(video({ buffered: ranges([[10.2, 12]]) }))! - 2) < 1e-9, "a small gap is jumped");
  assert.equal(bufferedAhead(video({ buffered: undefined })), undefined);
});

test("dropped frames, playing state and the player's bandwidth estimate are read", () => {
  const s = mediaSample(video({ dropped: 7, total: 420 }), 5_000_000);
  assert.deepEqual({ ...s, bufferedS: Math.round(s.bufferedS!) },
    { bufferedS: 6, playing: true, droppedFrames: 7, totalFrames: 420, bandwidth: 5_000_000 });
  assert.equal(mediaSample(video({ paused: true })).playing, false);
  const audio = mediaSample({ currentTime: 1, playbackRate: 1, paused: false });
  assert.equal(audio.droppedFrames, undefined, "no getVideoPlaybackQuality: no frame counts");
  assert.equal(audio.bufferedS, undefined);
});

test("the playhead carries the media sample", () => {
  const p = playhead(video({ playbackRate: 2 }));
  assert.equal(p.time, 10);
  assert.equal(p.rate, 2);
  assert.equal(p.media?.playing, true);
});
