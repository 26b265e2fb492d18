// Which network path a peer connection's bytes take: through a TURN relay
// or not. Bytes that come through a relay left the node (its TURN relay,
// or one the operator pays for): they count as "relay", never as "p2p"
// (DESIGN.md "Honest numbers").

/** A candidate type as getStats() reports it. */
type CandidateType = "host" | "srflx" | "prflx" | "relay";

interface StatsEntry { type: string; id: string; [k: string]: unknown }

/** An RTCStatsReport, or anything with its forEach (a Map, an array). */
export interface StatsLike { forEach(f: (v: StatsEntry) => void): void }

/**
 * Reports whether the selected candidate pair of a getStats() report has a
 * relay candidate on either side; undefined while no pair is selected.
 * The selected pair is the transport's selectedCandidatePairId (Chromium,
 * Safari), else the pair marked selected (Firefox), else a nominated
 * succeeded pair.
 */
export function usesRelay(report: StatsLike): boolean | undefined {
  const byId = new Map<string, StatsEntry>();
  report.forEach((v) => { byId.set(v.id, v); });
  let pair: StatsEntry | undefined;
  for (const v of byId.values()) {
    if (v.type === "transport" && typeof v.selectedCandidatePairId === "string") pair = byId.get(v.selectedCandidatePairId);
  }
  if (!pair) for (const v of byId.values()) if (v.type === "candidate-pair" && v.selected === true) pair = v;
  if (!pair) for (const v of byId.values()) if (v.type === "candidate-pair" && v.nominated === true && v.state === "succeeded") pair = v;
  if (!pair) return undefined;
  const typeOf = (id: unknown): CandidateType | undefined =>
    typeof id === "string" ? (byId.get(id)?.candidateType as CandidateType | undefined) : undefined;
  return typeOf(pair.localCandidateId) === "relay" || typeOf(pair.remoteCandidateId) === "relay";
}

/** Asks pc for its stats and tells whether its selected pair is relayed. */
export async function relayedPath(pc: RTCPeerConnection): Promise<boolean | undefined> {
  if (typeof pc.getStats !== "function") return undefined;
  try {
    return usesRelay(await pc.getStats() as unknown as StatsLike);
  } catch {
    return undefined;
  }
}
