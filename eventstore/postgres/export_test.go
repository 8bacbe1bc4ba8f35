package postgres

import (
	"context"

	"crm/eventstore"
)

// UseNaiveReads switches s to a plain "position > cursor" log reader.
func UseNaiveReads(s *Store) { s.naiveReads = true }

// AppendGroup stores the appends as one group, as a flusher does, and
// returns each one's result and error.
func AppendGroup(s *Store, appends ...[]eventstore.StreamEvents) ([]eventstore.AppendResult, []error, error) {
	group := make([]*appendReq, len(appends))
	for i, streams := range appends {
		if err := eventstore.CheckAppend(streams); err != nil {
			return nil, nil, err
		}
		group[i] = &appendReq{ctx: context.Background(), streams: streams, done: make(chan struct{})}
	}
	err := s.appendGroup(context.Background(), group)
	res := make([]eventstore.AppendResult, len(group))
	errs := make([]error, len(group))
	for i, r := range group {
		res[i], errs[i] = r.res, r.err
	}
	return res, errs, err
}
