package invocation

import "testing"

// TestRoute: http.route comes from API Gateway's route template, never from the path.
func TestRoute(t *testing.T) {
	for _, tc := range []struct {
		name, event, route string
	}{
		{"REST API resource", `{"resource":"/items/{id}","path":"/items/7","httpMethod":"GET","requestContext":{"stage":"prod","resourceId":"abc"}}`, "/items/{id}"},
		{"HTTP API routeKey", `{"version":"2.0","routeKey":"GET /items/{id}","rawPath":"/items/7","requestContext":{"domainName":"x.execute-api.eu-west-1.amazonaws.com","routeKey":"GET /items/{id}","http":{"method":"GET","path":"/items/7"}}}`, "/items/{id}"},
		{"HTTP API $default", `{"version":"2.0","routeKey":"$default","rawPath":"/items/7","requestContext":{"domainName":"x.execute-api.eu-west-1.amazonaws.com","routeKey":"$default","http":{"method":"GET","path":"/items/7"}}}`, ""},
		{"function URL", `{"version":"2.0","routeKey":"$default","rawPath":"/items/7","requestContext":{"domainName":"abc.lambda-url.eu-west-1.on.aws","routeKey":"$default","http":{"method":"GET","path":"/items/7"}}}`, ""},
		{"direct", `{"hello":"world"}`, ""},
	} {
		if got := ParseEvent([]byte(tc.event)).Route; got != tc.route {
			t.Errorf("%s: route %q, want %q", tc.name, got, tc.route)
		}
	}
}
