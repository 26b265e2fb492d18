import assert from "node:assert/strict";
import { test } from "node:test";
import { usesRelay } from "../../src/core/path";

const cand = (id: string, candidateType: string) => ({ type: id.startsWith("L") ? "local-candidate" : "remote-candidate", id, candidateType });

test("Chromium: the transport's selected pair decides", () => {
  const report = (local: string, remote: string) => new Map(Object.entries({
    T1: { type: "transport", id: "T1", selectedCandidatePairId: "CP2" },
    CP1: { type: "candidate-pair", id: "CP1", localCandidateId: "L1", remoteCandidateId: "R1", state: "succeeded", nominated: true },
    CP2: { type: "candidate-pair", id: "CP2", localCandidateId: "L2", remoteCandidateId: "R2", state: "succeeded", nominated: true },
    L1: cand("L1", "relay"), R1: cand("R1", "relay"),
    L2: cand("L2", local), R2: cand("R2", remote),
  }));
  assert.equal(usesRelay(report("srflx", "host")), false, "the other, relayed pair is not the selected one");
  assert.equal(usesRelay(report("relay", "srflx")), true, "our relay candidate");
  assert.equal(usesRelay(report("srflx", "relay")), true, "the remote peer's relay candidate");
  assert.equal(usesRelay(report("host", "prflx")), false);
});

test("Firefox: the pair marked selected decides", () => {
  const r = [
    { type: "candidate-pair", id: "a", localCandidateId: "L1", remoteCandidateId: "R1", state: "succeeded", nominated: true, selected: false },
    { type: "candidate-pair", id: "b", localCandidateId: "L2", remoteCandidateId: "R2", state: "succeeded", nominated: true, selected: true },
    cand("L1", "host"), cand("R1", "host"), cand("L2", "relay"), cand("R2", "srflx"),
  ];
  assert.equal(usesRelay(r), true);
});

test("no selected pair yet: unknown", () => {
  assert.equal(usesRelay([]), undefined);
  assert.equal(usesRelay([{ type: "candidate-pair", id: "a", localCandidateId: "L", remoteCandidateId: "R", state: "in-progress", nominated: false },
    cand("L", "relay"), cand("R", "relay")]), undefined);
  assert.equal(usesRelay([{ type: "transport", id: "T", selectedCandidatePairId: "gone" }]), undefined);
});
