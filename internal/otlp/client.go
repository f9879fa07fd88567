package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client posts encoded OTLP requests to one endpoint, retrying what the protocol calls
// retryable within a budget.
type Client struct {
	ep      Endpoint
	headers atomic.Pointer[map[string]string] // ep.Headers and any added since
	http    *http.Client
	// RetryFor bounds the retries of one Send, measured from its start.
	retryFor time.Duration
	// held, while set, is closed once the headers are complete (Hold).
	held atomic.Pointer[chan struct{}]
}

// NewClient returns a client for ep; retries of one Send stop after retryFor (0: none).
// It never dials: connections are made on the first request (or by Warm).
func NewClient(ep Endpoint, retryFor time.Duration) *Client {
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     ep.TLS,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     10 * time.Minute, // the environment is frozen between invocations
	}
	if ep.Protocol == GRPC {
		// gRPC is HTTP/2 only: with TLS by ALPN, in plain text with prior knowledge.
		var p http.Protocols
		if strings.HasPrefix(ep.URL, "https:") {
			p.SetHTTP2(true)
		} else {
			p.SetUnencryptedHTTP2(true)
		}
		t.Protocols = &p
		t.Proxy = nil
	}
	c := &Client{ep: ep, http: &http.Client{Transport: t}, retryFor: retryFor}
	c.headers.Store(&ep.Headers)
	return c
}

// AddHeaders adds headers to every later request (values read from a secret at init);
// they win over those of the endpoint.
func (c *Client) AddHeaders(add map[string]string) {
	h := map[string]string{}
	for k, v := range *c.headers.Load() {
		h[k] = v
	}
	for k, v := range add {
		h[k] = v
	}
	c.headers.Store(&h)
}

// Hold makes every request wait, each within its own bound, until release is called:
// for headers that arrive after the client is made (an API key read from a secret in the
// background, while the function initialises).
func (c *Client) Hold() (release func()) {
	ch := make(chan struct{})
	c.held.Store(&ch)
	return sync.OnceFunc(func() { close(ch) })
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Warm opens a connection ahead of the first export by sending an empty request, which
// the protocol allows; errors are the first export's business and are ignored here.
func (c *Client) Warm(ctx context.Context) { _, _ = c.send(ctx, nil) }

// Send posts msg, an encoded Export*ServiceRequest, retrying retryable failures with
// backoff until the client's retry budget or ctx runs out. rejected is what the collector
// reported as rejected in a partial success.
func (c *Client) Send(ctx context.Context, msg []byte) (rejected int64, err error) {
	start := time.Now()
	delay := 10 * time.Millisecond
	for {
		rejected, err = c.send(ctx, msg)
		var re *retryable
		if err == nil || !errors.As(err, &re) || re.later {
			return rejected, err
		}
		wait := delay
		if re.after > 0 {
			wait = re.after
		}
		if time.Since(start)+wait > c.retryFor {
			return 0, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, errors.Join(err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, max(c.retryFor/4, 10*time.Millisecond))
	}
}

// retryable is a failure the protocol says may succeed if tried again.
type retryable struct {
	err   error
	after time.Duration // the server's Retry-After, when it gave one
	// later is set for a failure that will not go away within one Send's retries (a
	// certificate not trusted, a host name that does not resolve): worth trying again
	// later, not now.
	later bool
}

// notSoon reports whether a transport error is one that retrying within a Send cannot
// fix: a certificate that is not trusted, or a host name that does not resolve.
func notSoon(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		dns      *net.DNSError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || (errors.As(err, &dns) && dns.IsNotFound)
}

// Retryable reports whether err, from Send, is a failure the protocol says may succeed if
// sent again (connection errors, timeouts, 429, 502-504, retryable gRPC codes).
func Retryable(err error) bool {
	var re *retryable
	return errors.As(err, &re)
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func (c *Client) send(ctx context.Context, msg []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.ep.Timeout)
	defer cancel()
	if held := c.held.Load(); held != nil {
		select {
		case <-*held:
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for the OTLP headers: %w", ctx.Err())
		}
	}
	body, err := c.body(msg)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range *c.headers.Load() {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", "bodytrace")
	if c.ep.Protocol == GRPC {
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		if c.ep.Gzip {
			req.Header.Set("Grpc-Encoding", "gzip")
		}
	} else if c.ep.Protocol == HTTPJSON {
		req.Header.Set("Content-Type", "application/json")
		if c.ep.Gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
	} else {
		req.Header.Set("Content-Type", "application/x-protobuf")
		if c.ep.Gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The transport's error repeats the URL, query and user information included.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		// Connection refused, reset, timeout: the collector may be back on the next try.
		return 0, &retryable{err: fmt.Errorf("OTLP %s to %s: %w", c.ep.Protocol, redactURL(c.ep.URL), err), later: notSoon(err)}
	}
	defer resp.Body.Close()
	// Bounded: a misbehaving collector cannot make the extension read forever.
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, &retryable{err: fmt.Errorf("OTLP %s to %s: reading the response: %w", c.ep.Protocol, redactURL(c.ep.URL), err)}
	}
	if c.ep.Protocol == GRPC {
		return c.grpcResult(resp, data)
	}
	return c.httpResult(resp, data)
}

// body frames msg for the protocol: gzip when asked, and gRPC's 5-byte message prefix.
func (c *Client) body(msg []byte) ([]byte, error) {
	if c.ep.Gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(msg); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		msg = buf.Bytes()
	}
	if c.ep.Protocol != GRPC {
		return msg, nil
	}
	framed := make([]byte, 5, 5+len(msg))
	if c.ep.Gzip {
		framed[0] = 1
	}
	binary.BigEndian.PutUint32(framed[1:], uint32(len(msg)))
	return append(framed, msg...), nil
}

func (c *Client) httpResult(resp *http.Response, data []byte) (int64, error) {
	if resp.StatusCode/100 == 2 && c.ep.Protocol == HTTPJSON {
		return partialSuccessJSON(data), nil
	}
	if resp.StatusCode/100 == 2 {
		return partialSuccess(data), nil
	}
	msg := statusMessage(resp.Header.Get("Content-Type"), data)
	err := fmt.Errorf("OTLP %s to %s: HTTP %d%s", c.ep.Protocol, redactURL(c.ep.URL), resp.StatusCode, msg)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 0, &retryable{err: err, after: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return 0, err
}

// gRPC status codes the OTLP specification calls retryable.
var grpcRetryable = map[string]bool{
	"1": true, "4": true, "8": true, "10": true, "11": true, "14": true, "15": true,
}

func (c *Client) grpcResult(resp *http.Response, data []byte) (int64, error) {
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("OTLP grpc to %s: HTTP %d", redactURL(c.ep.URL), resp.StatusCode)
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			return 0, &retryable{err: err}
		}
		return 0, err
	}
	// The status is a trailer, or a header in a trailers-only response.
	status, msg := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	if status == "" {
		status, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	switch status {
	case "0":
		if len(data) >= 5 && data[0] == 0 {
			return partialSuccess(data[5:]), nil
		}
		return 0, nil
	case "":
		return 0, fmt.Errorf("OTLP grpc to %s: the response has no grpc-status", redactURL(c.ep.URL))
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	err := fmt.Errorf("OTLP grpc to %s: status %s: %s", redactURL(c.ep.URL), status, msg)
	if grpcRetryable[status] {
		return 0, &retryable{err: err}
	}
	return 0, err
}

// partialSuccess reads Export*ServiceResponse.partial_success.rejected_* (field 1.1).
// partialSuccessJSON reads rejectedSpans from a JSON ExportTraceServiceResponse (an
// int64, so a string in OTLP JSON; a number is accepted too).
func partialSuccessJSON(data []byte) int64 {
	var resp struct {
		PartialSuccess struct {
			RejectedSpans json.Number `json:"rejectedSpans"`
		} `json:"partialSuccess"`
	}
	if json.Unmarshal(data, &resp) != nil {
		return 0
	}
	n, _ := resp.PartialSuccess.RejectedSpans.Int64()
	return n
}

func partialSuccess(data []byte) (rejected int64) {
	fields(data, func(field, wire int, _ uint64, p []byte) {
		if field == 1 && wire == wireBytes {
			fields(p, func(field, wire int, v uint64, _ []byte) {
				if field == 1 && wire == wireVarint {
					rejected = int64(v)
				}
			})
		}
	})
	return rejected
}

// statusMessage is ": <message>" from an OTLP error body: a google.rpc.Status when
// protobuf (message is field 2), else the start of the text.
func statusMessage(contentType string, data []byte) string {
	if strings.HasPrefix(contentType, "application/x-protobuf") {
		var msg string
		fields(data, func(field, wire int, _ uint64, p []byte) {
			if field == 2 && wire == wireBytes {
				msg = string(p)
			}
		})
		if msg != "" {
			return ": " + msg
		}
		return ""
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		return ""
	}
	return ": " + text
}

// retryAfter reads a Retry-After header given in seconds.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// redactURL drops user information and the query from a URL before it is logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the OTLP endpoint"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
