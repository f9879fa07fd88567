package export

import (
	"testing"

	"github.com/bodytrace/bodytrace/internal/invocation"
)

func TestSummaryEdge(t *testing.T) {
	r := invocation.Record{RequestID: "r", Request: &invocation.Request{Trigger: invocation.TriggerFunctionURL, EdgeRequestID: "cf-1", IfModifiedSince: true}}
	s := NewSummary(&r, r.Judge(), "")
	if s.Edge == nil || s.Edge.RequestID != "cf-1" || !s.Edge.IfModifiedSince {
		t.Fatalf("edge %+v", s.Edge)
	}
	r.Request = &invocation.Request{Trigger: invocation.TriggerDirect}
	if s := NewSummary(&r, r.Judge(), ""); s.Edge != nil {
		t.Fatalf("edge %+v for a request that crossed no CDN", s.Edge)
	}
}
