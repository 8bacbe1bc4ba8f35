package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit bounds each API key's request rate with a token bucket:
// PerSecond tokens are added per second up to Burst; a request takes one.
// A zero PerSecond turns the limit off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// keyLimiter holds one token bucket per API key id.
type keyLimiter struct {
	limit   RateLimit
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newKeyLimiter(l RateLimit) *keyLimiter {
	if l.Burst < 1 {
		l.Burst = 1
	}
	return &keyLimiter{limit: l, now: time.Now, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket, or says how long until one is
// there.
func (l *keyLimiter) take(key string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.limit.Burst), last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(l.limit.Burst), b.tokens+now.Sub(b.last).Seconds()*l.limit.PerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	secs := (1 - b.tokens) / l.limit.PerSecond
	return false, time.Duration(math.Min(secs, 86400) * float64(time.Second))
}

// rateLimited refuses a key's requests beyond its rate with 429 and
// Retry-After; with a zero limit it lets everything through.
func rateLimited(l RateLimit, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	if l.PerSecond <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	lim := newKeyLimiter(l)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ok, wait := lim.take(principalOf(r.Context()).KeyID); !ok {
				fail(w, r, &apiError{kind: kindTooManyRequests, code: "rate_limited",
					detail:     "this API key exceeds " + strconv.FormatFloat(l.PerSecond, 'g', -1, 64) + " requests per second; retry later",
					retryAfter: max(wait, time.Second)})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// errRequestTimeout is a request cut off by the per-request time limit.
var errRequestTimeout = errors.New("request time limit reached")

// timeLimited gives each request a deadline of d (zero: none); work still
// running at the deadline is cancelled and the request answered 503.
func timeLimited(d time.Duration) func(http.Handler) http.Handler {
	if d <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeoutCause(r.Context(), d, errRequestTimeout)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
