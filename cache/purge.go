package cache

import "strings"

// Purge drops the objects stored under a cache key (with prefix false) or
// under every cache key that starts with key (prefix true), variants
// included, and keeps fills in flight for them from storing what they
// fetch. It returns how many cache keys had something stored. The next
// request for a purged key goes to the origin.
func (c *Cache) Purge(key string, prefix bool) int {
	if !prefix {
		n := 0
		if c.lookup(key) != nil || c.storedVariants(key) {
			n = 1
		}
		c.Invalidate(key)
		return n
	}
	keys := map[string]struct{}{}
	c.mu.RLock()
	for k := range c.live {
		if strings.HasPrefix(k, key) {
			keys[primaryKey(k)] = struct{}{}
		}
	}
	for k := range c.flights {
		if strings.HasPrefix(k, key) {
			keys[primaryKey(k)] = struct{}{}
		}
	}
	c.rmu.Lock()
	for k := range c.ristKeys {
		if strings.HasPrefix(k, key) {
			keys[primaryKey(k)] = struct{}{}
		}
	}
	c.rmu.Unlock()
	c.mu.RUnlock()
	n := 0
	for k := range keys {
		if c.lookup(k) != nil || c.storedVariants(k) {
			n++
		}
		c.Invalidate(k)
	}
	return n
}

// storedVariants reports whether variants of key are stored.
func (c *Cache) storedVariants(key string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if _, varies := c.vary[key]; !varies {
		return false
	}
	for k := range c.live {
		if primaryKey(k) == key && k != key {
			return true
		}
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for k := range c.ristKeys {
		if primaryKey(k) == key && k != key {
			return true
		}
	}
	return false
}
