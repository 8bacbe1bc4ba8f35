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
	c := newStreamCache(350 * recordOverhead)
	c.put("short", recs(cacheMinStream-1), (cacheMinStream-1)*recordOverhead, nil)
	if got, _, _ := c.get("short"); got != nil {
		t.Error("a short stream was cached")
	}
	c.put("a", recs(150), 150*recordOverhead, nil)
	c.put("b", recs(150), 150*recordOverhead, nil)
	c.get("a") // a is now the most recent
	c.put("c", recs(150), 150*recordOverhead, nil)
	a, _, _ := c.get("a")
	b, _, _ := c.get("b")
	cc, _, _ := c.get("c")
	if b != nil || a == nil || cc == nil || c.cachedEvents() != 300 {
		t.Errorf("after overflowing: a %d, b %d, c %d, events %d", len(a), len(b), len(cc), c.cachedEvents())
	}
	c.put("a", recs(120), 120*recordOverhead, nil) // shorter than cached: kept as is
	if got, size, _ := c.get("a"); len(got) != 150 || cap(got) != 150 || size != 150*recordOverhead {
		t.Errorf("a: len %d cap %d size %d, want 150 and a capacity that forces a copy on append", len(got), cap(got), size)
	}
	c.put("huge", recs(200), 400*recordOverhead, nil) // larger than the whole cache
	if got, _, _ := c.get("huge"); got != nil {
		t.Error("a stream larger than the whole cache was cached")
	}
	c.drop("a")
	if got, _, _ := c.get("a"); got != nil || c.cachedEvents() != 150 {
		t.Errorf("after drop: a %d, events %d", len(got), c.cachedEvents())
	}
}
