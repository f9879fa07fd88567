package invocation

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// eventProbe decodes just the fields that tell the trigger apart, in one pass, instead of
// trying each events type in turn on an event that can be 6 MB.
type eventProbe struct {
	Version           string              `json:"version"`
	RawPath           string              `json:"rawPath"`
	Path              string              `json:"path"`
	HTTPMethod        string              `json:"httpMethod"`
	Resource          string              `json:"resource"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	RequestContext    *struct {
		DomainName string                                                `json:"domainName"`
		Stage      string                                                `json:"stage"`
		ResourceID string                                                `json:"resourceId"`
		RouteKey   string                                                `json:"routeKey"`
		HTTP       *events.APIGatewayV2HTTPRequestContextHTTPDescription `json:"http"`
		ELB        *events.ELBContext                                    `json:"elb"`
	} `json:"requestContext"`
}

// ParseEvent reads the trigger, method, path and headers bodytrace records from an
// invocation event. Events that are not HTTP-shaped (or not JSON objects) are Direct.
func ParseEvent(event []byte) Request {
	req := Request{EventBytes: int64(len(event)), Trigger: TriggerDirect}
	var p eventProbe
	if json.Unmarshal(event, &p) != nil || p.RequestContext == nil {
		return req
	}
	rc := p.RequestContext
	switch {
	case rc.ELB != nil && rc.ELB.TargetGroupArn != "":
		req.Trigger, req.Method, req.Path = TriggerALB, p.HTTPMethod, p.Path
	case p.Version == "2.0" && rc.HTTP != nil:
		req.Trigger, req.Method, req.Path = TriggerAPIGatewayV2, rc.HTTP.Method, p.RawPath
		if strings.Contains(rc.DomainName, ".lambda-url.") {
			req.Trigger = TriggerFunctionURL
		} else if _, route, ok := strings.Cut(rc.RouteKey, " "); ok {
			req.Route = route // "GET /items/{id}"; $default names no route
		}
	case p.HTTPMethod != "" && (rc.Stage != "" || rc.ResourceID != "" || p.Resource != ""):
		req.Trigger, req.Method, req.Path, req.Route = TriggerAPIGatewayV1, p.HTTPMethod, p.Path, p.Resource
	default:
		return req
	}
	header := func(name string) string { return headerValue(p.Headers, p.MultiValueHeaders, name) }
	req.IfNoneMatch = header("If-None-Match") != ""
	req.IfModifiedSince = header("If-Modified-Since") != ""
	req.TraceParent = header("traceparent")
	req.EdgeRequestID = header("x-amz-cf-id")
	req.Via = header("via")
	req.CacheControl = header("cache-control")
	return req
}
