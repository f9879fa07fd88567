package runtimeproxy

import (
	"net/http"
	"strings"
)

// apiPrefix is the Runtime API's versioned path prefix.
const apiPrefix = "/2018-06-01/runtime/"

// route classifies a request the runtime sent.
type route struct {
	kind      string // "" (forwarded unobserved), "next", or a Kind* constant
	requestID string
}

const kindNext = "next"

// parseRoute recognises the Runtime API routes the proxy observes. Anything
// else (unknown paths, future routes, unexpected methods) gets kind "" and is
// forwarded transparently.
func parseRoute(method, path string) route {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return route{}
	}
	switch {
	case rest == "invocation/next":
		if method == http.MethodGet {
			return route{kind: kindNext}
		}
	case rest == "init/error":
		if method == http.MethodPost {
			return route{kind: KindInitError}
		}
	case strings.HasPrefix(rest, "invocation/"):
		id, action, _ := strings.Cut(rest[len("invocation/"):], "/")
		if method != http.MethodPost || id == "" {
			return route{}
		}
		switch action {
		case "response":
			return route{kind: KindResponse, requestID: id}
		case "error":
			return route{kind: KindError, requestID: id}
		}
	}
	return route{}
}
