package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Where a request was answered, as the join of the CDN's log and the invocations tells it.
const (
	WhereEdgeCache = "edge-cache" // answered at the edge (cache, 304, redirect, edge function): never invoked
	WhereInvoked   = "invoked"    // the function ran: its verdict says what became of the body
	WhereEdgeError = "edge-error" // the edge answered with an error of its own
	WhereNoRecord  = "no-record"  // one side has the request and the other has not
)

// Joined is one request: a CDN row, an invocation, or both.
type Joined struct {
	Type       string      `json:"type"` // always "bodytrace.cdn.request"
	Time       time.Time   `json:"time"`
	EdgeID     string      `json:"edgeRequestId"`
	Route      string      `json:"route"`
	Where      string      `json:"where"`
	Verdict    string      `json:"verdict"`
	Short      bool        `json:"short"`      // the edge sent an empty or short body
	From       string      `json:"from"`       // where a short body came from, when Short
	Edge       *EdgeRow    `json:"edge"`       // nil: no CDN row has the id
	Invocation *Invocation `json:"invocation"` // nil: no invocation has the id
}

// Join matches CDN rows to invocations by x-edge-request-id == edge.requestId. It returns
// one entry per CDN row, then one per invocation with an edge id that no row has, ordered
// by time. A row is short when it sent fewer than shortBytes (or a zero Content-Length).
func Join(rows []EdgeRow, invs []Invocation, shortBytes int64) []Joined {
	byID := map[string][]Invocation{}
	for _, inv := range invs {
		if inv.Edge != nil && inv.Edge.RequestID != "" {
			byID[inv.Edge.RequestID] = append(byID[inv.Edge.RequestID], inv)
		}
	}
	seen := map[string]bool{}
	var out []Joined
	for i := range rows {
		r := &rows[i]
		j := Joined{Type: "bodytrace.cdn.request", Time: r.Time, EdgeID: r.RequestID, Route: r.Route(), Edge: r, Short: r.Short(shortBytes)}
		if matched := byID[r.RequestID]; len(matched) > 0 {
			seen[r.RequestID] = true
			inv := matched[len(matched)-1] // an origin retry keeps the id: the last attempt answered
			j.Invocation, j.Where, j.Verdict = &inv, WhereInvoked, inv.Verdict
			if len(matched) > 1 {
				j.Verdict += fmt.Sprintf(" (%d invocations)", len(matched))
			}
		} else {
			j.Where, j.Verdict = classify(*r)
		}
		if j.Short {
			j.From = shortFrom(j)
		}
		out = append(out, j)
	}
	for _, inv := range invs {
		id := ""
		if inv.Edge != nil {
			id = inv.Edge.RequestID
		}
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		inv := inv
		out = append(out, Joined{Type: "bodytrace.cdn.request", Time: inv.Time, EdgeID: id, Route: inv.Route(), Where: WhereNoRecord,
			Verdict: inv.Verdict + "; no CDN log row has this edge id", Invocation: &inv})
	}
	sort.SliceStable(out, func(a, b int) bool {
		ta, tb := out[a].order(), out[b].order()
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return out[a].EdgeID < out[b].EdgeID
	})
	return out
}

// order is the time to sort by: the invocation's when there is one, since the edge logs
// whole seconds only.
func (j Joined) order() time.Time {
	if j.Invocation != nil && !j.Invocation.Time.IsZero() {
		return j.Invocation.Time
	}
	return j.Time
}

// classify says where a CDN row with no invocation was answered, from its result type
// (AWS's x-edge-result-type) and status.
func classify(r EdgeRow) (where, why string) {
	if r.Detailed == "OriginShieldHit" { // a Miss at the edge that the regional shield's cache answered
		return WhereEdgeCache, "never invoked: Miss at the edge, Hit in Origin Shield's cache"
	}
	switch r.ResultType {
	case "Hit", "OriginShieldHit":
		return WhereEdgeCache, "never invoked: " + r.ResultType + " from the edge cache"
	case "RefreshHit":
		return WhereEdgeCache, "RefreshHit: the edge cache's copy, revalidated; no invocation has this edge id"
	case "Redirect":
		return WhereEdgeCache, "never invoked: the edge redirected (viewer protocol policy)"
	case "FunctionGeneratedResponse":
		return WhereEdgeCache, "never invoked: a CloudFront Function answered"
	case "Error", "LimitExceeded", "CapacityExceeded":
		why := "never invoked: " + r.ResultType
		if r.Detailed != "" && r.Detailed != r.ResultType {
			why += " (" + r.Detailed + ")"
		}
		return WhereEdgeError, why
	}
	switch {
	case r.Status == 304:
		return WhereEdgeCache, "never invoked: 304 to a conditional request, answered at the edge"
	case r.Status >= 500:
		return WhereEdgeError, fmt.Sprintf("never invoked: %d from the edge (%s)", r.Status, r.ResultType)
	}
	return WhereNoRecord, r.ResultType + ": no invocation has this edge id (another origin, or no bodytrace there)"
}

// shortFrom says where a short body came from: the edge cache, the function stage that
// emptied it, or past the function.
func shortFrom(j Joined) string {
	switch j.Where {
	case WhereEdgeCache:
		switch j.Edge.ResultType {
		case "Redirect":
			return "edge redirect"
		case "FunctionGeneratedResponse":
			return "edge function"
		}
		return "edge cache"
	case WhereEdgeError:
		return "edge error"
	case WhereNoRecord:
		return "no record"
	}
	inv := j.Invocation
	if inv.LostAt != "" {
		return "function " + inv.LostAt
	}
	for _, s := range inv.Stages {
		if s.Bytes == 0 {
			return "function " + s.Stage
		}
	}
	if inv.Bytes.Body != nil && *inv.Bytes.Body == 0 {
		return "function body"
	}
	return "after the function"
}

// PathSummary counts one path's CDN rows and its short bodies by where they came from.
type PathSummary struct {
	Route    string         `json:"route"`
	Requests int            `json:"requests"`
	Short    int            `json:"short"`
	From     map[string]int `json:"from"`
}

// Summarize counts the CDN rows of joined per route, in route order.
func Summarize(joined []Joined) []PathSummary {
	byRoute := map[string]*PathSummary{}
	for _, j := range joined {
		if j.Edge == nil {
			continue
		}
		s := byRoute[j.Route]
		if s == nil {
			s = &PathSummary{Route: j.Route, From: map[string]int{}}
			byRoute[j.Route] = s
		}
		s.Requests++
		if j.Short {
			s.Short++
			s.From[j.From]++
		}
	}
	out := make([]PathSummary, 0, len(byRoute))
	for _, s := range byRoute {
		out = append(out, *s)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Route < out[b].Route })
	return out
}

// FromText lists the sources of short bodies, most first ("edge cache 2, function handler 1").
func (s PathSummary) FromText() string {
	type kv struct {
		k string
		n int
	}
	var l []kv
	for k, n := range s.From {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(a, b int) bool {
		if l[a].n != l[b].n {
			return l[a].n > l[b].n
		}
		return l[a].k < l[b].k
	})
	var parts []string
	for _, e := range l {
		parts = append(parts, fmt.Sprintf("%s %d", e.k, e.n))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
