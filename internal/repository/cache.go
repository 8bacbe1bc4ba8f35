package repository

import (
	"container/list"
	"sync"

	"crm/commands"
)

// Defaults of the stream cache.
const (
	// cacheMaxBytes bounds the cache by the stored size of the events it
	// holds (plus recordOverhead each): about what they take decoded.
	cacheMaxBytes = 64 << 20
	// cacheMinStream is the shortest stream worth caching: shorter ones
	// load in one quick read anyway.
	cacheMinStream = 100
	// recordOverhead is what a decoded event costs besides its data.
	recordOverhead = 256
)

// streamCache keeps the decoded events of long streams, least recently used
// first out, so a command on a stream with thousands of events reads and
// decodes only the events appended since it was last loaded. Stored events
// never change; what they reveal does once a data subject is erased, so an
// entry names the subjects whose personal values it holds, and a load
// drops it when one of them is erased.
type streamCache struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[string]*list.Element
	lru     *list.List // of *cacheEntry, most recent first
}

type cacheEntry struct {
	stream   string
	recs     []commands.Recorded
	bytes    int
	subjects []string
}

func newStreamCache(maxBytes int) *streamCache {
	return &streamCache{max: maxBytes, entries: map[string]*list.Element{}, lru: list.New()}
}

// get returns the cached prefix of stream (nil when none), its size and
// the data subjects whose values it holds. The slices are shared and must
// not be modified; their capacity is their length, so an append copies.
func (c *streamCache) get(stream string) ([]commands.Recorded, int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[stream]
	if !ok {
		return nil, 0, nil
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*cacheEntry)
	return e.recs[:len(e.recs):len(e.recs)], e.bytes, e.subjects[:len(e.subjects):len(e.subjects)]
}

// put caches recs (bytes in size) as stream's prefix when it is long
// enough and longer than what is cached, evicting the least recently used
// streams beyond the bound. recs and subjects must not be modified
// afterwards.
func (c *streamCache) put(stream string, recs []commands.Recorded, bytes int, subjects []string) {
	c.putMin(stream, recs, bytes, subjects, cacheMinStream)
}

// putMin is put for streams of at least min events.
func (c *streamCache) putMin(stream string, recs []commands.Recorded, bytes int, subjects []string, min int) {
	if len(recs) < min || len(recs) == 0 || bytes > c.max {
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
		c.size += bytes - e.bytes
		e.recs, e.bytes, e.subjects = recs, bytes, subjects
		c.lru.MoveToFront(el)
	} else {
		c.entries[stream] = c.lru.PushFront(&cacheEntry{stream: stream, recs: recs, bytes: bytes, subjects: subjects})
		c.size += bytes
	}
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

// extend adds events a command appended to a stream that stood at
// version expected: to the cached stream when the cache holds exactly
// that version, as a new entry when the stream is new (expected 0). Any
// other cached state of the stream is dropped. recs and subjects must not
// be modified afterwards.
func (c *streamCache) extend(stream string, expected int64, recs []commands.Recorded, bytes int, subjects []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[stream]
	switch {
	case ok:
		e := el.Value.(*cacheEntry)
		if int64(len(e.recs)) != expected || e.bytes+bytes > c.max {
			c.remove(el)
			return
		}
		// Readers hold slices capped at their length, so appending never
		// changes what they see.
		e.recs = append(e.recs, recs...)
		e.bytes += bytes
		e.subjects = union(e.subjects, subjects)
		c.size += bytes
		c.lru.MoveToFront(el)
	case expected == 0 && bytes <= c.max:
		c.entries[stream] = c.lru.PushFront(&cacheEntry{stream: stream, recs: recs, bytes: bytes, subjects: subjects})
		c.size += bytes
	default:
		return
	}
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

// drop forgets stream.
func (c *streamCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[stream]; ok {
		c.remove(el)
	}
}

func (c *streamCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.entries, e.stream)
	c.size -= e.bytes
}

// cachedEvents reports how many events the cache holds (for tests).
func (c *streamCache) cachedEvents() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, el := range c.entries {
		n += len(el.Value.(*cacheEntry).recs)
	}
	return n
}
