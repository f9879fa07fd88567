package steps

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/bodytrace/bodytrace/steps/line"
)

// emitter sends step lines: one datagram each to the extension's UDP port, or one line
// each to stdout. Errors are dropped: a step that cannot be sent is lost, never the
// handler's result.
type emitter struct {
	conn net.Conn  // UDP, connected; nil when writing to out
	out  io.Writer // stdout

	mu sync.Mutex // one line at a time on out
}

// sendBound keeps a full socket buffer from holding the handler up.
const sendBound = 5 * time.Millisecond

func (e *emitter) emit(s line.Step) {
	b := line.Format(s)
	if e.conn != nil {
		_ = e.conn.SetWriteDeadline(time.Now().Add(sendBound))
		_, _ = e.conn.Write(b)
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	_, _ = e.out.Write(b)
	e.mu.Unlock()
}

// emitters holds one long-lived socket per step address.
var emitters sync.Map // address → *emitter

var stdoutEmitter = &emitter{out: os.Stdout}

// activeEmitter returns where step lines go now, or nil when nobody listens: no step address
// (set by the redirect or the exec wrapper) and stdout not asked for.
func activeEmitter() *emitter {
	if addr := os.Getenv(stepsAddrEnv); addr != "" {
		if e, ok := emitters.Load(addr); ok {
			return e.(*emitter)
		}
		if c, err := net.Dial("udp", addr); err == nil {
			e, loaded := emitters.LoadOrStore(addr, &emitter{conn: c})
			if loaded {
				c.Close()
			}
			return e.(*emitter)
		}
	}
	if stdoutWanted() {
		return stdoutEmitter
	}
	return nil
}

// invocation numbers the steps of one invocation across the layers it passes through. It
// travels in the context, so every layer of one call shares it.
type invocation struct {
	rid     string
	next    atomic.Int32
	settled atomic.Int64 // unix nanoseconds when the innermost layer returned
}

type invocationKey struct{}

// enter returns the invocation the context carries, or starts one (outer reports whether
// this layer is the outermost). It returns nil without a Lambda request id.
func enter(ctx context.Context) (_ context.Context, inv *invocation, outer bool) {
	if inv, ok := ctx.Value(invocationKey{}).(*invocation); ok {
		return ctx, inv, false
	}
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok || lc.AwsRequestID == "" {
		return ctx, nil, false
	}
	inv = &invocation{rid: lc.AwsRequestID}
	return context.WithValue(ctx, invocationKey{}, inv), inv, true
}

// step fills the request id, the order and the stage of a layer's step: the first layer to
// return in an invocation is the handler, every one around it a middleware.
func (inv *invocation) step(name string, s line.Step) line.Step {
	s.RequestID = inv.rid
	s.Seq = int(inv.next.Add(1) - 1)
	if s.Seq == 0 {
		s.Stage = "handler"
		inv.settled.Store(time.Now().UnixNano())
		if name != "" && name != "handler" {
			s.Who = name
		}
	} else {
		s.Stage = "middleware:" + name
	}
	return s
}

// after is the time since the handler settled, in milliseconds.
func (inv *invocation) after() float64 {
	t := inv.settled.Load()
	if t == 0 {
		return 0
	}
	return float64(time.Now().UnixNano()-t) / 1e6
}
