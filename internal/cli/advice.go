package cli

import (
	"fmt"
	"strings"
)

// Advice is a verdict in words and what to do about it.
type Advice struct {
	Headline string   // the verdict in one sentence
	Steps    []string // what to check or change, most likely first
}

// Explain says what an invocation's verdict means and what to do about it.
func Explain(inv Invocation) Advice {
	v := inv.Verdict
	switch {
	case v == "delivered":
		return Advice{
			Headline: "Delivered: the function handed Lambda a full body.",
			Steps: []string{
				"The body left the function intact, so if a client saw it empty or short, look downstream.",
				"API Gateway, ALB or function URL: response mappings, payload limits, binary media types (isBase64Encoded).",
				"CDN cache: CloudFront may serve a cached empty response, or answer a conditional request with 304 without calling the function.",
				"The client: its cache, and the If-None-Match / If-Modified-Since headers it sends.",
			},
		}
	case v == "empty-by-design":
		return Advice{
			Headline: "Empty by design: this response has no body by definition (204 No Content, HEAD, or 304 Not Modified answering a conditional request).",
			Steps: []string{
				"Nothing was lost. A 304 tells the client to use its cached copy.",
				"If a page shows up empty, check the cache that sent If-None-Match / If-Modified-Since (browser or CDN) and that your ETag changes when the content does.",
			},
		}
	case v == "lost:handler":
		return Advice{
			Headline: "Lost in the handler: it returned a status that should carry a body, with an empty body.",
			Steps: []string{
				"Check what your handler returns: log the body just before it returns.",
				"Await every promise that produces or writes the body; a handler that returns before its write resolves returns nothing.",
				"Next.js with OpenNext: make sure the route returns (or ends) a response with content.",
				"Using wrappers (Sentry, Datadog, OpenTelemetry)? Add step lines with the layer's Node.js helper or the Go steps package so bodytrace can tell the handler from each wrapper.",
			},
		}
	case strings.HasPrefix(v, "lost:middleware:"):
		name := strings.TrimPrefix(v, "lost:middleware:")
		return Advice{
			Headline: fmt.Sprintf("Lost in middleware %s: the handler produced a body, and after the %s wrapper it was empty or short.", name, name),
			Steps: []string{
				fmt.Sprintf("The %s wrapper dropped the body. Upgrade it, or reconfigure it (response capture, streaming support).", name),
				"To confirm, deploy once without that wrapper and compare.",
				"Report it to the wrapper's maintainers with this invocation's stages.",
			},
		}
	case strings.HasPrefix(v, "lost:late-write"):
		a := Advice{
			Headline: "Lost to a late write: the body was written after the adapter took its snapshot of the response.",
			Steps: []string{
				"A buffered adapter (OpenNext, serverless-http) converts the response when the handler's promise resolves; something deferred the body write or res.end past that moment.",
				"Known case: Sentry's Next.js integration 7.29 to 8.4 wrapped res.end asynchronously. Upgrade @sentry/nextjs.",
				"Otherwise, await the write before the handler returns.",
			},
		}
		if who := strings.TrimPrefix(strings.TrimPrefix(v, "lost:late-write"), ":"); who != "" {
			a.Steps = append([]string{"The late writer: " + who + "."}, a.Steps...)
		}
		return a
	case v == "lost:streaming":
		return Advice{
			Headline: "Lost in the response stream: the stream was opened but carried no body bytes, was cut, or ended with an error.",
			Steps: []string{
				"Check that the handler writes the stream and ends it (await pipeline(...)), and does not return before it is done.",
				"Check that every wrapper supports awslambda.streamifyResponse: some wrap a streaming handler as if it were buffered.",
				"An error trailer names the error type: look it up in the function's log.",
			},
		}
	case v == "lost:platform":
		return Advice{
			Headline: "Lost at the platform: Lambda did not deliver the function's result.",
			Steps: []string{
				"The function errored or timed out, or its buffered response went over Lambda's 6 MB limit (Lambda answers 413).",
				"Check the error type and the function's log; raise the timeout or memory if it timed out.",
				"For bodies over 6 MB, use response streaming.",
			},
		}
	case strings.HasPrefix(v, "lost:"):
		stage := strings.TrimPrefix(v, "lost:")
		return Advice{
			Headline: fmt.Sprintf("Lost at %s: the body became empty or short at this stage.", stage),
			Steps:    []string{"Look at what runs at that stage; the stages below show the bytes before and after it."},
		}
	}
	a := Advice{
		Headline: "Unknown: bodytrace did not have enough evidence to say where the body went.",
		Steps: []string{
			"On managed runtimes (Node.js, Python, Java, .NET, Ruby) set AWS_LAMBDA_EXEC_WRAPPER=/opt/bodytrace-wrapper so bodytrace sees the Runtime API.",
			"In Go functions (provided.al2023), import github.com/bodytrace/bodytrace/steps.",
		},
	}
	if inv.Reason != "" {
		a.Steps = append([]string{"What was missing: " + inv.Reason + "."}, a.Steps...)
	}
	return a
}
