package cli

import (
	"testing"
	"time"

	"github.com/bodytrace/bodytrace/internal/export"
)

func TestClassifyEdgeRows(t *testing.T) {
	zero := int64(0)
	for _, tc := range []struct {
		row         EdgeRow
		where, from string
	}{
		{EdgeRow{ResultType: "Hit", Status: 200, BytesSent: 383, ContentLen: &zero}, WhereEdgeCache, "edge cache"},
		{EdgeRow{ResultType: "RefreshHit", Status: 304, BytesSent: 251}, WhereEdgeCache, "edge cache"},
		{EdgeRow{ResultType: "Miss", Response: "OriginShieldHit", Detailed: "OriginShieldHit", Status: 200, BytesSent: 2431}, WhereEdgeCache, ""},
		{EdgeRow{ResultType: "OriginShieldHit", Status: 200, BytesSent: 100}, WhereEdgeCache, "edge cache"},
		{EdgeRow{ResultType: "Miss", Status: 304, BytesSent: 251}, WhereEdgeCache, "edge cache"},
		{EdgeRow{ResultType: "FunctionGeneratedResponse", Status: 200, BytesSent: 200}, WhereEdgeCache, "edge function"},
		{EdgeRow{ResultType: "Redirect", Status: 301, BytesSent: 388}, WhereEdgeCache, ""}, // a redirect is no short body,
		{EdgeRow{ResultType: "Error", Detailed: "OriginConnectError", Status: 502, BytesSent: 1180}, WhereEdgeError, ""},
		{EdgeRow{ResultType: "LimitExceeded", Status: 403, BytesSent: 300}, WhereEdgeError, ""},
		{EdgeRow{ResultType: "CapacityExceeded", Status: 503, BytesSent: 300}, WhereEdgeError, ""},
		{EdgeRow{ResultType: "Error", Status: 200, BytesSent: 300}, WhereEdgeError, "edge error"},
		{EdgeRow{ResultType: "Miss", Status: 503, BytesSent: 900}, WhereEdgeError, ""},
		{EdgeRow{ResultType: "Miss", Status: 200, BytesSent: 297, ContentLen: &zero}, WhereNoRecord, "no record"},
	} {
		tc.row.RequestID = "id=="
		j := Join([]EdgeRow{tc.row}, nil, 512)
		if len(j) != 1 || j[0].Where != tc.where || j[0].From != tc.from {
			t.Errorf("%s %d: got %s from %q (%s), want %s from %q", tc.row.ResultType, tc.row.Status, j[0].Where, j[0].From, j[0].Verdict, tc.where, tc.from)
		}
	}
}

func TestJoinByEdgeID(t *testing.T) {
	at := time.Date(2026, 11, 25, 13, 35, 31, 0, time.UTC)
	zero, full := int64(0), int64(2048)
	inv := func(id, verdict, lostAt string, body int64, edge string) Invocation {
		i := Invocation{Summary: export.Summary{RequestID: id, Time: at, Method: "GET", Path: "/bytes", Verdict: verdict, LostAt: lostAt,
			Stages: []export.Stage{{Stage: "handler", Bytes: body}}}}
		if edge != "" {
			i.Edge = &export.Edge{RequestID: edge}
		}
		return i
	}
	invs := []Invocation{
		inv("r1", "lost:middleware:sentry", "middleware:sentry", 2048, "E1=="),
		inv("r2", "delivered", "", 2048, "E2=="),
		inv("r3", "delivered", "", 2048, "E2=="), // CloudFront retried the origin with the same id
		inv("r4", "delivered", "", 2048, ""),     // not through CloudFront: not listed
		inv("r5", "lost:handler", "handler", 0, "E5=="),
	}
	rows := []EdgeRow{
		{Time: at, RequestID: "E1==", Method: "GET", Path: "/bytes", Status: 200, ResultType: "Miss", BytesSent: 300, ContentLen: &zero},
		{Time: at.Add(time.Second), RequestID: "E2==", Method: "GET", Path: "/bytes", Status: 200, ResultType: "Miss", BytesSent: 300, ContentLen: &full},
	}
	got := Join(rows, invs, 512)
	// Ordered by the invocation's time (the edge logs whole seconds), then the edge id.
	want := []struct{ id, where, verdict, from string }{
		{"E1==", WhereInvoked, "lost:middleware:sentry", "function middleware:sentry"},
		{"E2==", WhereInvoked, "delivered (2 invocations)", "after the function"},
		{"E5==", WhereNoRecord, "lost:handler; no CDN log row has this edge id", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d joined, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.EdgeID != w.id || g.Where != w.where || g.Verdict != w.verdict || g.From != w.from {
			t.Errorf("joined %d: %s %s %q from %q, want %+v", i, g.EdgeID, g.Where, g.Verdict, g.From, w)
		}
	}
	if got[1].Invocation.RequestID != "r3" {
		t.Errorf("the retried request joined %s, want the last attempt r3", got[1].Invocation.RequestID)
	}
	sum := Summarize(got)
	if len(sum) != 1 || sum[0].Requests != 2 || sum[0].Short != 2 || sum[0].FromText() != "after the function 1, function middleware:sentry 1" {
		t.Errorf("summary %+v %q", sum, sum[0].FromText())
	}
}
