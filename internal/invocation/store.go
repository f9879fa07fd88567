package invocation

import (
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
	limit   int
	created func(*Record)

	maxOpen int
	evicted func(Record)
	// strays are the open records no trusted source has opened (see Record.Anchored):
	// step lines or telemetry for request ids the Runtime API never delivered. They have
	// a budget of their own, so no amount of them can push out an invocation in flight.
	strays   map[string]struct{}
	maxStray int
}

// SetMaxOpen bounds the open records. Anchored records (see Record.Anchored) are bounded
// by n and strays by maxStray, each class evicting only its own oldest: strays can never
// push out an invocation the Runtime API delivered. Evicted records are taken out (their
// ids are not remembered as closed when they were strays) and handed to evicted, called
// without the store's lock held, so events for ids that never complete cannot pile up.
func (s *Store) SetMaxOpen(n, maxStray int, evicted func(Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxOpen, s.maxStray, s.evicted = n, maxStray, evicted
}

// NewStore returns a store that remembers up to limit closed request ids, to tell late
// events for a finished invocation from events for a new one. created, when not nil, sees
// each new record first.
func NewStore(limit int, created func(*Record)) *Store {
	if limit < 1 {
		limit = 1
	}
	return &Store{open: map[string]*Record{}, closed: map[string]struct{}{}, strays: map[string]struct{}{},
		limit: limit, created: created}
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
		r = &Record{RequestID: id, Started: at}
		s.open[id] = r
		s.strays[id] = struct{}{} // until f anchors it
		if s.created != nil {
			s.created(r)
		}
	}
	if !at.IsZero() && at.Before(r.Started) {
		r.Started = at
	}
	f(r)
	if r.Anchored() {
		delete(s.strays, id)
	}
	out = s.evict(id)
	return true
}

// evict takes out the oldest records of a class over its budget, never keep (the record
// just updated); the lock is held.
func (s *Store) evict(keep string) []Record {
	var out []Record
	for s.maxStray > 0 && len(s.strays) > s.maxStray {
		r, ok := s.takeOldest(keep, true)
		if !ok {
			break
		}
		out = append(out, r)
	}
	for s.maxOpen > 0 && len(s.open)-len(s.strays) > s.maxOpen {
		r, ok := s.takeOldest(keep, false)
		if !ok {
			break
		}
		out = append(out, r)
	}
	return out
}

// takeOldest removes the open record of the class (strays or anchored) that started
// first, other than keep. A stray leaves no closed id behind: it never delivered
// anything, and remembering it would push real ids out of the closed ring.
func (s *Store) takeOldest(keep string, stray bool) (Record, bool) {
	var oldest *Record
	for id, r := range s.open {
		_, isStray := s.strays[id]
		if id == keep || isStray != stray {
			continue
		}
		if oldest == nil || r.Started.Before(oldest.Started) {
			oldest = r
		}
	}
	if oldest == nil {
		return Record{}, false
	}
	if stray {
		delete(s.open, oldest.RequestID)
		delete(s.strays, oldest.RequestID)
		return *oldest, true
	}
	return s.take(oldest.RequestID)
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
	delete(s.strays, id)
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
