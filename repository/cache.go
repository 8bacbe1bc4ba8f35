package repository

import (
	"container/list"
	"sync"

	"crm/commands"
)

// Defaults of the stream cache.
const (
	// cacheMaxEvents bounds how many decoded events the cache holds in all.
	cacheMaxEvents = 50000
	// cacheMinStream is the shortest stream worth caching: shorter ones
	// load in one quick read anyway.
	cacheMinStream = 100
)

// streamCache keeps the decoded events of long streams, least recently used
// first out, so a command on a stream with thousands of events reads and
// decodes only the events appended since it was last loaded. Stored events
// never change, so a cached prefix never goes stale.
type streamCache struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[string]*list.Element
	lru     *list.List // of *cacheEntry, most recent first
}

type cacheEntry struct {
	stream string
	recs   []commands.Recorded
}

func newStreamCache(max int) *streamCache {
	return &streamCache{max: max, entries: map[string]*list.Element{}, lru: list.New()}
}

// get returns the cached prefix of stream (nil when none). The slice is
// shared and must not be modified; its capacity is its length, so an
// append copies.
func (c *streamCache) get(stream string) []commands.Recorded {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[stream]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	recs := el.Value.(*cacheEntry).recs
	return recs[:len(recs):len(recs)]
}

// put caches recs as stream's prefix when it is long enough and longer
// than what is cached, evicting the least recently used streams beyond
// the bound. recs must not be modified afterwards.
func (c *streamCache) put(stream string, recs []commands.Recorded) {
	if len(recs) < cacheMinStream || len(recs) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[stream]; ok {
		e := el.Value.(*cacheEntry)
		if len(e.recs) >= len(recs) {
			c.lru.MoveToFront(el)
			return
		}
		c.size += len(recs) - len(e.recs)
		e.recs = recs
		c.lru.MoveToFront(el)
	} else {
		c.entries[stream] = c.lru.PushFront(&cacheEntry{stream: stream, recs: recs})
		c.size += len(recs)
	}
	for c.size > c.max {
		old := c.lru.Back()
		e := old.Value.(*cacheEntry)
		c.lru.Remove(old)
		delete(c.entries, e.stream)
		c.size -= len(e.recs)
	}
}

// cached reports how many events the cache holds (for tests).
func (c *streamCache) cached() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
