package invocation

import (
	"context"
	"sync"
	"time"
)

// Store holds the open records of an execution environment, keyed by request id, so that
// concurrent invocations (Lambda Managed Instances) never mix. Safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	open    map[string]*Record
	closed  map[string]struct{} // recently taken ids, so late events are recognised
	order   []string            // ring of closed ids, oldest first
	changed chan struct{}       // closed and replaced on every change: a broadcast to waiters
	limit   int
	created func(*Record)

	maxOpen int
	evicted func(Record)
}

// SetMaxOpen bounds the open records: when a new record would exceed n, the oldest open
// record is taken out and handed to evicted (called without the store's lock held), so
// events for request ids that never complete cannot pile up.
func (s *Store) SetMaxOpen(n int, evicted func(Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxOpen, s.evicted = n, evicted
}

// NewStore returns a store that remembers up to limit closed request ids, to tell late
// events for a finished invocation from events for a new one. created, when not nil, sees
// each new record first.
func NewStore(limit int, created func(*Record)) *Store {
	if limit < 1 {
		limit = 1
	}
	return &Store{open: map[string]*Record{}, closed: map[string]struct{}{}, changed: make(chan struct{}), limit: limit, created: created}
}

// Update applies f to the open record for id, creating it (Started = at) when new. It
// returns false, without calling f, when the record was already taken: the event is late.
func (s *Store) Update(id string, at time.Time, f func(*Record)) bool {
	var out []Record
	defer func() {
		for _, r := range out {
			s.evicted(r)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.closed[id]; done {
		return false
	}
	r := s.open[id]
	if r == nil {
		for s.maxOpen > 0 && len(s.open) >= s.maxOpen {
			out = append(out, s.takeOldest())
		}
		r = &Record{RequestID: id, Started: at}
		s.open[id] = r
		if s.created != nil {
			s.created(r)
		}
	}
	if !at.IsZero() && at.Before(r.Started) {
		r.Started = at
	}
	f(r)
	close(s.changed)
	s.changed = make(chan struct{})
	return true
}

// Wait blocks until done reports true for the open record id, or ctx ends. It returns
// whether done was satisfied. done runs under the store's lock and must not block.
func (s *Store) Wait(ctx context.Context, id string, done func(*Record) bool) bool {
	for {
		s.mu.Lock()
		r, ch := s.open[id], s.changed
		ok := r != nil && done(r)
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// takeOldest removes the open record that started first; the lock is held.
func (s *Store) takeOldest() Record {
	var oldest *Record
	for _, r := range s.open {
		if oldest == nil || r.Started.Before(oldest.Started) {
			oldest = r
		}
	}
	r, _ := s.take(oldest.RequestID)
	return r
}

// Take removes the open record id and returns a copy; later Updates for id report late.
func (s *Store) Take(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.take(id)
}

func (s *Store) take(id string) (Record, bool) {
	r, ok := s.open[id]
	if !ok {
		return Record{}, false
	}
	delete(s.open, id)
	s.closed[id] = struct{}{}
	s.order = append(s.order, id)
	if len(s.order) > s.limit {
		delete(s.closed, s.order[0])
		s.order = s.order[1:]
	}
	return *r, true
}

// Open returns the ids of the open records for which match reports true (all when match
// is nil). match runs under the store's lock and must not block.
func (s *Store) Open(match func(*Record) bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, r := range s.open {
		if match == nil || match(r) {
			ids = append(ids, id)
		}
	}
	return ids
}
