package node

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/internal/testpeer"
)

// A Go viewer shares a segment its player loaded over HTTP, as a browser
// does: once kept (checked against the node's digest), another viewer
// fetches it from that viewer, and bytes that do not match are refused.
func TestViewerSharesASegmentItLoadedOverHTTP(t *testing.T) {
	n := swarmNode(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seq, segURL, swarm, ticket := liveRendition(t, n)
	holder := joinPeer(t, ctx, n, swarm, testpeer.Options{Upload: true, Ticket: ticket})
	resp, body := httpGet(t, segURL)
	if resp.StatusCode != 200 {
		t.Fatalf("segment over HTTP: %d", resp.StatusCode)
	}
	if _, err := holder.Digest(ctx, seq); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), body...)
	bad[len(bad)/2] ^= 1
	if holder.Keep(seq, bad) || holder.Holds(seq) {
		t.Fatal("kept bytes that do not match the digest")
	}
	if !holder.Keep(seq, body) || !holder.Holds(seq) {
		t.Fatal("the segment loaded over HTTP was not kept")
	}
	if st := holder.Stats(); st.P2PBytes != 0 || st.SeedBytes != 0 {
		t.Fatalf("a kept segment counts in no source: %+v", st)
	}

	other := joinPeer(t, ctx, n, swarm, testpeer.Options{Ticket: ticket})
	if _, err := other.WaitReady(ctx, holder.ID()); err != nil {
		t.Fatalf("viewer-to-viewer connection: %v (holder: %v, other: %v)", err, holder.Err(), other.Err())
	}
	got, err := other.Fetch(ctx, holder.ID(), seq)
	if err != nil {
		t.Fatalf("fetch from the viewer that kept it: %v", err)
	}
	if !bytes.Equal(got, body) || other.Stats().P2PBytes != int64(len(body)) {
		t.Fatalf("got %d bytes (p2p %d), want the %d of HTTP", len(got), other.Stats().P2PBytes, len(body))
	}
	if li := other.Links(); len(li) != 1 || li[0].ID != holder.ID() || !li[0].Ready || li[0].Bytes != int64(len(body)) || li[0].Requests != 1 || li[0].Failed != 0 {
		t.Fatalf("the other viewer's connection record: %+v", li)
	}
}
