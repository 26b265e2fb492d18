package node

import (
	"context"
	"strings"

	"github.com/edgeswarm/edgeswarm/cache"
)

// prefetchHints fetches the EXT-X-PRELOAD-HINT objects of a live LL-HLS
// playlist as soon as the playlist lands: the origin holds such a request
// until the part exists, and the viewers who ask for it next join that one
// flight instead of each sending their own. The fetch forwards the headers
// of the playlist request, under the key the edge gives the viewers'
// requests for the hint.
func (n *Node) prefetchHints(fi cache.FillInfo) {
	if fi.Kind != cache.KindLivePlaylist || n.origin == nil || n.cfg.Upstream.Key.KeepHost {
		return
	}
	e, ok := n.cache.PeekContent(fi.Key) // the newest version of the playlist
	if !ok || len(e.Hints()) == 0 {
		return
	}
	for _, h := range e.Hints() {
		path, query, _ := strings.Cut(h, "?")
		key := n.origin.CacheKey("", path, query)
		if _, ok := n.cache.Peek(key); ok {
			continue
		}
		req := &cache.Request{Key: key, Path: path, RawQuery: query, Header: fi.Header, ContentKey: n.origin.Key("", path, query)}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), n.cfg.Upstream.Timeout)
			defer cancel()
			if e, _, err := n.cache.Get(ctx, req); err == nil {
				_, _ = e.Wait(ctx)
			}
		}()
	}
}
