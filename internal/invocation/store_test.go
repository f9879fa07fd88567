package invocation

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/steps/line"
)

func TestStoreUpdateCreatesOnce(t *testing.T) {
	var created []string
	s := NewStore(4, func(r *Record) {
		created = append(created, r.RequestID)
		r.ColdStart = len(created) == 1
	})
	t0 := time.Unix(1000, 0)
	calls := 0
	for i, at := range []time.Time{t0, t0.Add(-time.Second), t0.Add(time.Second), {}} {
		if !s.Update("a", at, func(r *Record) { calls++ }) {
			t.Fatalf("Update %d returned false for an open record", i)
		}
	}
	if !s.Update("b", t0, func(*Record) {}) {
		t.Fatal("Update b returned false")
	}
	if calls != 4 {
		t.Errorf("f called %d times, want 4", calls)
	}
	if fmt.Sprint(created) != "[a b]" {
		t.Errorf("created ran for %v, want [a b]", created)
	}
	r, ok := s.Take("a")
	if !ok {
		t.Fatal("Take a: not found")
	}
	if r.RequestID != "a" || !r.ColdStart {
		t.Errorf("record a = %+v, want RequestID a and ColdStart", r)
	}
	if want := t0.Add(-time.Second); !r.Started.Equal(want) {
		t.Errorf("Started = %v, want the earliest %v", r.Started, want)
	}
	if b, _ := s.Take("b"); b.ColdStart {
		t.Error("b is ColdStart, want only the first record")
	}
}

func TestStoreTakeThenUpdateIsLate(t *testing.T) {
	s := NewStore(8, nil)
	s.Update("a", time.Now(), func(r *Record) { r.Steps = append(r.Steps, line.Step{Stage: "x"}) })
	r, ok := s.Take("a")
	if !ok || len(r.Steps) != 1 {
		t.Fatalf("Take = %+v, %v", r, ok)
	}
	called := false
	if s.Update("a", time.Now(), func(*Record) { called = true }) {
		t.Error("Update after Take returned true, want false (late)")
	}
	if called {
		t.Error("Update after Take called f")
	}
	if _, ok := s.Take("a"); ok {
		t.Error("second Take found a record")
	}
	if _, ok := s.Take("never"); ok {
		t.Error("Take of an unknown id found a record")
	}
	if ids := s.Open(nil); len(ids) != 0 {
		t.Errorf("Open = %v after Take, want none", ids)
	}
}

func TestStoreOpen(t *testing.T) {
	s := NewStore(8, nil)
	s.Update("a", time.Now(), func(r *Record) { r.Response = &Response{} })
	s.Update("b", time.Now(), func(*Record) {})
	if ids := s.Open(nil); len(ids) != 2 {
		t.Errorf("Open(nil) = %v, want 2 ids", ids)
	}
	ids := s.Open(func(r *Record) bool { return r.Response != nil })
	if len(ids) != 1 || ids[0] != "a" {
		t.Errorf("Open(with response) = %v, want [a]", ids)
	}
}

func TestStoreClosedMemoryIsBounded(t *testing.T) {
	const limit = 3
	s := NewStore(limit, nil)
	for i := range 10 {
		id := fmt.Sprint(i)
		s.Update(id, time.Now(), func(*Record) {})
		s.Take(id)
	}
	if len(s.closed) != limit || len(s.order) != limit {
		t.Fatalf("remembers %d closed ids (%d in order), want %d", len(s.closed), len(s.order), limit)
	}
	// The newest ids are still recognised as late, the oldest are forgotten.
	for _, id := range []string{"7", "8", "9"} {
		if s.Update(id, time.Now(), func(*Record) {}) {
			t.Errorf("Update(%s) = true, want late", id)
		}
	}
	if !s.Update("0", time.Now(), func(*Record) {}) {
		t.Error("Update(0) = false, want a new record once 0 is forgotten")
	}
}

func TestStoreLimitBelowOne(t *testing.T) {
	s := NewStore(0, nil)
	s.Update("a", time.Now(), func(*Record) {})
	s.Take("a")
	if s.Update("a", time.Now(), func(*Record) {}) {
		t.Error("a store with limit 0 must still remember the last closed id")
	}
}

func TestStoreConcurrentUpdates(t *testing.T) {
	const ids, updates = 20, 50
	var mu sync.Mutex
	created := map[string]int{}
	s := NewStore(ids, func(r *Record) {
		mu.Lock()
		created[r.RequestID]++
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for i := range ids {
		id := fmt.Sprintf("req-%d", i)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range updates {
					s.Update(id, time.Now(), func(r *Record) {
						r.Steps = append(r.Steps, line.Step{Stage: id})
					})
				}
			}()
		}
	}
	wg.Wait()
	for i := range ids {
		id := fmt.Sprintf("req-%d", i)
		r, ok := s.Take(id)
		if !ok {
			t.Fatalf("Take(%s) found nothing", id)
		}
		if len(r.Steps) != 4*updates {
			t.Errorf("%s has %d steps, want %d", id, len(r.Steps), 4*updates)
		}
		for _, st := range r.Steps {
			if st.Stage != id {
				t.Fatalf("%s holds a step of %s", id, st.Stage)
			}
		}
		if created[id] != 1 {
			t.Errorf("created ran %d times for %s, want 1", created[id], id)
		}
	}
}

// Strays (records no trusted source opened) evict only each other, and leave no closed id
// behind; anchored records are never pushed out by them.
func TestStoreStraysHaveTheirOwnBudget(t *testing.T) {
	var evicted []Record
	s := NewStore(8, nil)
	s.SetMaxOpen(2, 3, func(r Record) { evicted = append(evicted, r) })
	t0 := time.Unix(1000, 0)
	s.Update("live", t0, func(r *Record) { r.Request = &Request{} })
	for i := range 100 {
		s.Update(fmt.Sprint("stray-", i), t0.Add(time.Duration(i+1)*time.Second), func(r *Record) {})
	}
	if got := len(s.Open(nil)); got != 4 {
		t.Errorf("%d open, want the live record and 3 strays", got)
	}
	if len(s.Open(func(r *Record) bool { return r.RequestID == "live" })) != 1 {
		t.Fatal("live record evicted by strays")
	}
	if len(evicted) != 97 || evicted[0].RequestID != "stray-0" {
		t.Fatalf("evicted %d, first %q; want the 97 oldest strays", len(evicted), evicted[0].RequestID)
	}
	// An evicted stray is not remembered as closed: a later event for it opens it again.
	if !s.Update("stray-0", t0, func(*Record) {}) {
		t.Error("an evicted stray's id was remembered as closed")
	}
	// A stray that gets its event becomes anchored and leaves the stray budget.
	s.Update("stray-99", t0, func(r *Record) { r.Invoke = &Invoke{} })
	for i := range 3 {
		s.Update(fmt.Sprint("anchored-", i), t0.Add(time.Hour), func(r *Record) { r.Request = &Request{} })
	}
	if len(s.Open(func(r *Record) bool { return r.RequestID == "live" })) != 0 {
		t.Error("the oldest anchored record was not evicted when anchored records exceeded their bound")
	}
	if _, ok := s.Take("live"); ok {
		t.Error("live still open")
	}
}
