import assert from "node:assert/strict";
import { test } from "node:test";
import { SegmentStore } from "../../src/core/store";

const seg = (key: string, seq: number, end: number, n = 10) => ({ key, seq, data: new Uint8Array(n), verified: true, end });

test("store evicts segments behind the playhead before newer ones", () => {
  let t = 25;
  const s = new SegmentStore(3, 1e9, () => t);
  s.put(seg("/30", 30, 30)); // ahead of the playhead
  s.put(seg("/10", 10, 10)); // behind
  s.put(seg("/20", 20, 20)); // behind
  s.put(seg("/40", 40, 40));
  assert.deepEqual(["/10", "/20", "/30", "/40"].filter((k) => s.get(k)), ["/20", "/30", "/40"]);
  t = 35;
  s.put(seg("/50", 50, 50));
  assert.deepEqual(["/20", "/30", "/40", "/50"].filter((k) => s.get(k)), ["/40", "/50", "/30"].sort());
});

test("store evicts the oldest when nothing is behind the playhead", () => {
  const s = new SegmentStore(2, 1e9, () => undefined);
  s.put(seg("/a", 1, 2));
  s.put(seg("/b", 2, 4));
  s.put(seg("/c", 3, 6));
  assert.equal(s.get("/a"), undefined);
  assert.ok(s.get("/b") && s.get("/c"));
});

test("store respects its byte bound and keeps the sequence index right", () => {
  const s = new SegmentStore(100, 25, () => undefined);
  s.put(seg("/a", 1, 2, 10));
  s.put(seg("/b", 2, 4, 10));
  s.put(seg("/c", 3, 6, 10));
  assert.equal(s.totalBytes, 20);
  assert.equal(s.getSeq(1), undefined);
  assert.equal(s.getSeq(3)?.key, "/c");
  assert.deepEqual(s.verifiedSeqs().sort(), [2, 3]);
  assert.equal(s.put(seg("/big", 9, 9, 26)), false, "a segment larger than the store is not kept");
});

test("a store of zero segments keeps nothing (uploads disabled)", () => {
  const s = new SegmentStore(0, 1e9);
  assert.equal(s.put(seg("/a", 1, 1)), false);
  assert.equal(s.size, 0);
});
