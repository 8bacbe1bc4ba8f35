package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"crm/eventstore"
)

// fastPoll is the first re-poll delay after a wake-up that found nothing
// readable yet (the new events sit behind a transaction still running).
const fastPoll = 2 * time.Millisecond

// Subscribe implements eventstore.Store. It reads the log in batches from
// opts.After; when it has caught up it waits for a wake-up (a local append,
// or a notification from another process) or for the poll interval, and
// re-polls quickly after a wake-up until the new events become readable.
func (s *Store) Subscribe(ctx context.Context, opts eventstore.SubscribeOptions, handle func(context.Context, []eventstore.Event) error) error {
	size := opts.BatchSize
	if size <= 0 {
		size = s.opts.BatchSize
	}
	cursor := opts.After
	delay := s.opts.PollInterval
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		woken := s.wake.wait() // taken before reading: no wake-up is lost
		batch, err := s.ReadAll(ctx, cursor, size)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("subscribe: %w", err)
		}
		if len(batch) > 0 {
			if err := handle(ctx, batch); err != nil {
				return fmt.Errorf("subscribe: handler at %q: %w", batch[0].Cursor, err)
			}
			cursor = batch[len(batch)-1].Cursor
			delay = fastPoll
			if len(batch) == size {
				continue
			}
		}
		timer.Reset(delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return eventstore.ErrClosed
		case <-woken:
			delay = fastPoll
			if !timer.Stop() {
				<-timer.C
			}
		case <-timer.C:
			delay = min(delay*2, s.opts.PollInterval)
		}
	}
}

// broadcast wakes every goroutine waiting on it: wait returns a channel that
// the next signal closes.
type broadcast struct {
	mu *sync.Mutex
	ch *chan struct{}
}

func newBroadcast() broadcast {
	ch := make(chan struct{})
	return broadcast{mu: &sync.Mutex{}, ch: &ch}
}

func (b broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return *b.ch
}

func (b broadcast) signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(*b.ch)
	*b.ch = make(chan struct{})
}

// notify sends one coalesced NOTIFY per burst of local appends, outside any
// append transaction, so followers in other processes wake up. It never
// holds up an append.
func (s *Store) notify(ctx context.Context) {
	defer s.wg.Done()
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, s.opts.Channel, s.instance); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("event store: wake-up notification failed", "err", err)
		}
		gap.Reset(s.opts.NotifyGap)
		select {
		case <-ctx.Done():
			return
		case <-gap.C:
		}
	}
}

// listen holds one connection that LISTENs for other processes' wake-ups
// and reconnects with backoff when it is lost.
func (s *Store) listen(ctx context.Context) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.opts.Logger.Warn("event store: wake-up listener lost; polling until it reconnects", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+quoteIdent(s.opts.Channel)); err != nil {
		return err
	}
	// Events appended while we were not listening are found by this first
	// wake-up.
	s.wake.signal()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != s.instance {
			s.wake.signal()
		}
	}
}

func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
