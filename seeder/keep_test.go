package seeder

import (
	"bytes"
	"testing"

	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

// A Go viewer that got a segment over HTTP (testpeer.Keep) holds it and
// says so in its have-map, so that others can request it from the viewer,
// whether the digest came before the bytes or after; bytes that do not
// match the digest are never held.
func TestViewerKeepsWhatItFetchedOverHTTP(t *testing.T) {
	verifyNoLeaks(t)
	cfg := DefaultConfig()
	cfg.PushK = 0 // nothing pushed: what the viewer holds is what it kept
	e := newEnv(t, cfg, false)
	v, _ := e.viewer(testpeer.Options{Upload: true})

	before := e.src.add("/live/ch1/720p/40.ts", seq(40), 30_000)
	e.publish(before)
	if _, err := v.Digest(e.ctx, 40); err != nil {
		t.Fatal(err)
	}
	b, _ := e.src.Segment(e.ctx, before.Key)
	bad := bytes.Clone(b)
	bad[0] ^= 1
	if v.Keep(40, bad) || v.Holds(40) {
		t.Fatal("bytes that do not match the digest were kept")
	}
	if !v.Keep(40, b) {
		t.Fatal("segment 40 with its digest known was not kept")
	}
	e.waitHolds(v.ID(), 40)

	after := e.src.add("/live/ch1/720p/41.ts", seq(41), 30_000)
	b, _ = e.src.Segment(e.ctx, after.Key)
	if v.Keep(41, b) {
		t.Fatal("segment 41 held before its digest arrived")
	}
	e.publish(after)
	e.waitHolds(v.ID(), 41)
	if !v.Holds(41) {
		t.Fatal("segment 41 not held after its digest arrived")
	}
	if st := v.Stats(); st.SeedBytes != 0 || st.P2PBytes != 0 {
		t.Errorf("kept bytes counted as seed %d, p2p %d; want neither", st.SeedBytes, st.P2PBytes)
	}
}
