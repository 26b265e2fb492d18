package demo

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgeswarm/edgeswarm/origin"
)

// TestLLPlaylist: the LL-HLS playlist lists the parts recorded so far, a
// preload hint for the next one, and parts that are the segment's bytes.
func TestLLPlaylist(t *testing.T) {
	clk := newFakeClock(testStart) // 0.5 s into a segment: its part 0 exists
	o := newTestOrigin(t, DefaultConfig(), clk)
	body := get(t, o, "/ll/low/index.m3u8")
	info, err := origin.ParsePlaylist("/ll/low/index.m3u8", body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	ll := info.LL
	if !ll.CanBlockReload || info.PartTarget != 500*time.Millisecond || ll.PartHoldBack < 3*info.PartTarget {
		t.Fatalf("server control %+v, part target %v", ll, info.PartTarget)
	}
	seq := o.liveEdge(testStart) + 1
	last := ll.Parts[len(ll.Parts)-1]
	if last.MSN != uint64(seq) || last.Index != 0 || !last.Independent {
		t.Fatalf("newest part %+v, want part 0 of %d", last, seq)
	}
	if len(ll.Hints) != 1 || ll.Hints[0].URI != fmt.Sprintf("/ll/low/%d.1.ts", seq) || ll.Hints[0].Index != 1 {
		t.Fatalf("hints %+v", ll.Hints)
	}
	if got := info.MediaSequence + uint64(len(info.Segments)); got != uint64(seq) {
		t.Fatalf("segments end at %d, want %d", got, seq)
	}
	// The parts of a complete segment are its bytes, in order.
	prev := seq - 1
	var joined []byte
	for j := range llParts {
		joined = append(joined, get(t, o, fmt.Sprintf("/ll/low/%d.%d.ts", prev, j))...)
	}
	if whole := get(t, o, fmt.Sprintf("/ll/low/%d.ts", prev)); !bytes.Equal(joined, whole) || !bytes.Equal(whole, get(t, o, fmt.Sprintf("/live/low/%d.ts", prev))) {
		t.Fatal("the parts of a segment are not its bytes, or the LL segment is not the live one")
	}
	for _, p := range []string{fmt.Sprintf("/ll/low/%d.2.ts", seq+1), "/ll/low/1.4.ts", "/ll/low/01.0.ts", "/ll/low/x.0.ts", "/ll/nope/index.m3u8"} {
		if r := do(t, o, http.MethodGet, p, nil); r.code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.code)
		}
	}
	for _, q := range []string{"_HLS_msn=x", "_HLS_part=1", fmt.Sprintf("_HLS_msn=%d", seq+10), "_HLS_msn=1&_HLS_part=9"} {
		if r := do(t, o, http.MethodGet, "/ll/low/index.m3u8?"+q, nil); r.code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, r.code)
		}
	}
}

// TestLLBlockingReload: the demo origin holds a blocking reload until the
// part it asks for exists, then answers with a playlist that lists it (on
// the real clock: at most one part duration of waiting).
func TestLLBlockingReload(t *testing.T) {
	o := newTestOrigin(t, DefaultConfig(), nil)
	info, err := origin.ParsePlaylist("/ll/low/index.m3u8", get(t, o, "/ll/low/index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	h := info.LL.Hints[0]
	body := get(t, o, fmt.Sprintf("/ll/low/index.m3u8?_HLS_msn=%d&_HLS_part=%d", h.MSN, h.Index))
	if !bytes.Contains(body, []byte(strings.TrimPrefix(h.URI, "/ll/low/"))) {
		t.Fatalf("the blocking reload for %s does not list it:\n%s", h.URI, body)
	}
	info2, err := origin.ParsePlaylist("/ll/low/index.m3u8", body)
	if err != nil || !info2.Has(h.MSN, h.Index) {
		t.Fatalf("blocking answer does not have part %d.%d (%v)", h.MSN, h.Index, err)
	}
	// The hinted part itself is held until it exists, then served.
	if part := get(t, o, h.URI); len(part) == 0 || len(part)%tsPacketSize != 0 {
		t.Fatalf("hinted part: %d bytes", len(part))
	}
}
