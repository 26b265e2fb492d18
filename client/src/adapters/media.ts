// What a media element tells the engine's risk control: the forward
// buffer, whether it plays, and its dropped frames. Shared by the adapters
// that hold an element; the core knows no element.

import type { Playhead } from "../core/engine";
import type { MediaSample } from "../core/risk";

/** The parts of an HTMLVideoElement read here (any of them may be missing). */
export type MediaLike = Pick<HTMLMediaElement, "currentTime" | "playbackRate" | "paused"> &
  Partial<Pick<HTMLMediaElement, "buffered" | "ended">> & { getVideoPlaybackQuality?: () => { droppedVideoFrames: number; totalVideoFrames: number } };

/** Seconds buffered ahead of the playhead, in the range that holds it (0 when none does). */
export function bufferedAhead(m: MediaLike): number | undefined {
  const b = m.buffered;
  if (!b) return undefined;
  const t = m.currentTime;
  for (let i = 0; i < b.length; i++) {
    // A small gap before a range is jumped by the player.
    if (b.start(i) <= t + 0.25 && b.end(i) > t) return b.end(i) - t;
  }
  return 0;
}

/** The risk sample of an element; bandwidth is the player's estimate, bits/s. */
export function mediaSample(m: MediaLike, bandwidth?: number): MediaSample {
  let q: { droppedVideoFrames: number; totalVideoFrames: number } | undefined;
  try { q = m.getVideoPlaybackQuality?.(); } catch { /* not a video element */ }
  return {
    bufferedS: bufferedAhead(m),
    playing: !m.paused && !m.ended && m.currentTime > 0,
    droppedFrames: q?.droppedVideoFrames, totalFrames: q?.totalVideoFrames,
    bandwidth: bandwidth && Number.isFinite(bandwidth) ? bandwidth : undefined,
  };
}

/** The engine's playhead of an element. */
export function playhead(m: MediaLike, bandwidth?: number): Playhead {
  return { time: m.currentTime, rate: m.paused ? 1 : m.playbackRate || 1, media: mediaSample(m, bandwidth) };
}
