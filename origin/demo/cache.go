package demo

import "sync"

// segmentKey names one generated segment.
type segmentKey struct {
	rendition int
	seq       int64
}

// segmentCache keeps the bytes of recently generated segments, up to a byte
// budget, evicting the oldest first. Live viewers all ask for the same few
// segments, so a small cache turns almost every request into a lookup.
type segmentCache struct {
	mu     sync.Mutex
	budget int
	used   int
	items  map[segmentKey][]byte
	order  []segmentKey // insertion order, oldest first
}

func newSegmentCache(budget int) *segmentCache {
	return &segmentCache{budget: budget, items: make(map[segmentKey][]byte)}
}

func (c *segmentCache) get(k segmentKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.items[k]
	return b, ok
}

// add stores b (which must not be modified afterwards) unless it alone is
// larger than the budget.
func (c *segmentCache) add(k segmentKey, b []byte) {
	if len(b) > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		return
	}
	for c.used+len(b) > c.budget && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.used -= len(c.items[old])
		delete(c.items, old)
	}
	c.items[k] = b
	c.order = append(c.order, k)
	c.used += len(b)
}
