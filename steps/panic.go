package steps

import (
	"fmt"
	"path"
	"reflect"
	"runtime"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"
)

// A handler that panics inside Wrap would show Wrap's frame in the stack trace aws-lambda-go
// sends to Lambda, and so in every error report made from it: bodytrace would appear to be
// part of the failure. So Wrap recovers the panic and panics again with the error
// aws-lambda-go would have built for the original panic (it passes a panic value of type
// messages.InvokeResponse_Error through as it is): the same message, type and frames, without
// bodytrace's.
//
// The two frames at the top of that trace are aws-lambda-go's own (its recover in
// callBytesHandlerFunc, and lambdaPanicResponse), which are not on the stack when Wrap
// recovers; their lines are those of the aws-lambda-go versions below. With any other
// version, or anything unexpected on the stack, Wrap re-panics with the original value: the
// report is then right but for one frame of Wrap's.

// lambdaFrames are, per layout of aws-lambda-go's lambda/invoke_loop.go (known by the line
// where callBytesHandlerFunc calls the handler), the lines of the two frames aws-lambda-go's
// panic trace starts with. v1.55.1's layout.
var lambdaFrames = map[int32]struct{ recoverLine, responseLine int32 }{
	125: {recoverLine: 122, responseLine: 39}, // v1.55.1: invoke_loop.go:122, errors.go:39
}

const (
	lambdaPkg         = "github.com/aws/aws-lambda-go/lambda."
	callBytesHandler  = lambdaPkg + "callBytesHandlerFunc"
	stepsPkg          = "github.com/bodytrace/bodytrace/steps."
	panicFrameCount   = 32 // aws-lambda-go's defaultErrorFrameCount
	lambdaFramesAbove = 2  // lambdaPanicResponse and callBytesHandlerFunc's deferred recover
)

// lambdaPanic returns what aws-lambda-go would have made of panic value v, as a value it
// passes through, or v itself when it cannot be sure. It runs in the deferred function that
// recovered v.
func lambdaPanic(v any) any {
	if _, ok := v.(messages.InvokeResponse_Error); ok {
		return v // an inner Wrap already did this
	}
	pcs := make([]uintptr, 128)
	pcs = pcs[:runtime.Callers(1, pcs)]
	var kept []uintptr // from runtime.gopanic down, without this package's frames
	var handlerCall *runtime.Frame
	inPanic := false
	for i := range pcs {
		frames := runtime.CallersFrames(pcs[i : i+1])
		f, _ := frames.Next()
		switch {
		case !inPanic && f.Function == "runtime.gopanic":
			inPanic = true
		case !inPanic:
			continue
		case strings.HasPrefix(f.Function, stepsPkg):
			continue
		case f.Function == callBytesHandler && handlerCall == nil:
			handlerCall = &f
		}
		kept = append(kept, pcs[i])
	}
	if handlerCall == nil {
		return v // not called by aws-lambda-go's invoke loop
	}
	lines, ok := lambdaFrames[int32(handlerCall.Line)]
	if !ok {
		return v
	}
	dir := path.Dir(handlerCall.File)
	trace := []*messages.InvokeResponse_Error_StackFrame{
		formatFrame(runtime.Frame{Function: lambdaPkg + "lambdaPanicResponse", File: dir + "/errors.go", Line: int(lines.responseLine)}),
		formatFrame(runtime.Frame{Function: callBytesHandler + ".func1", File: handlerCall.File, Line: int(lines.recoverLine)}),
	}
	kept = kept[:min(len(kept), panicFrameCount-lambdaFramesAbove)]
	frames := runtime.CallersFrames(kept)
	for {
		f, more := frames.Next()
		trace = append(trace, formatFrame(f))
		if !more {
			break
		}
	}
	return messages.InvokeResponse_Error{
		Message:    fmt.Sprintf("%v", v),
		Type:       errorType(v),
		StackTrace: trace,
		ShouldExit: true,
	}
}

// errorType names v's type as aws-lambda-go's getErrorType does (lambda/errors.go).
func errorType(v any) string {
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Ptr {
		return t.Elem().Name()
	}
	return t.Name()
}

// formatFrame formats f as aws-lambda-go's formatFrame does (lambda/panic.go): the path
// from the package's import path on, and the function's name without its package.
func formatFrame(f runtime.Frame) *messages.InvokeResponse_Error_StackFrame {
	p, label := f.File, f.Function
	i := len(p)
	for n, g := 0, strings.Count(label, "/")+2; n < g; n++ {
		i = strings.LastIndex(p[:i], "/")
		if i == -1 {
			break
		}
	}
	p = p[i+1:]
	label = label[strings.LastIndex(label, "/")+1:]
	label = label[strings.Index(label, ".")+1:]
	return &messages.InvokeResponse_Error_StackFrame{Path: p, Line: int32(f.Line), Label: label}
}
