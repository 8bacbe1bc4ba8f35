package repository

// CachedEvents reports how many decoded events r's stream cache holds.
func CachedEvents(r *Repository) int { return r.cache.cachedEvents() }
