package repository

import (
	"testing"

	"crm/commands"
)

func TestStreamCacheEvictsLeastRecentlyUsed(t *testing.T) {
	recs := func(n int) []commands.Recorded {
		out := make([]commands.Recorded, n)
		for i := range out {
			out[i].Version = int64(i + 1)
		}
		return out
	}
	c := newStreamCache(350)
	c.put("short", recs(cacheMinStream-1))
	if c.get("short") != nil {
		t.Error("a short stream was cached")
	}
	c.put("a", recs(150))
	c.put("b", recs(150))
	c.get("a") // a is now the most recent
	c.put("c", recs(150))
	if c.get("b") != nil || c.get("a") == nil || c.get("c") == nil || c.cached() != 300 {
		t.Errorf("after overflowing: a %d, b %d, c %d, size %d", len(c.get("a")), len(c.get("b")), len(c.get("c")), c.cached())
	}
	c.put("a", recs(120)) // shorter than cached: kept as is
	if got := c.get("a"); len(got) != 150 || cap(got) != 150 {
		t.Errorf("a: len %d cap %d, want 150 and a capacity that forces a copy on append", len(got), cap(got))
	}
	c.put("huge", recs(400))
	if c.get("huge") != nil {
		t.Error("a stream larger than the whole cache was cached")
	}
}
