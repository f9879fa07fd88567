package invocation

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"

	"github.com/bodytrace/bodytrace/layer"
	"github.com/bodytrace/bodytrace/steps/line"
)

// culpritName is the name a package is blamed under when a step names it, and the
// vendor it belongs to.
func culpritName(pkg string) string {
	return layer.WrapperName(pkg)
}

// modulePath finds an npm package in a path on a stack: node_modules/<name> or
// node_modules/@scope/<name>.
var modulePath = lazyRegexp(`node_modules/((?:@[A-Za-z0-9._~-]+/)?[A-Za-z0-9._~-]+)`)

// notCulprits are packages on every stack that are never the wrapper to blame: the
// runtime client (installed from npm outside Lambda) and bodytrace itself.
var notCulprits = map[string]bool{"aws-lambda-ric": true, "@aws/lambda-invoke-store": true, "bodytrace": true}

// packageOnStack returns the first package (innermost frame first) a stack, or a note
// carrying one, runs through, other than the runtime client and bodytrace; "" for none.
func packageOnStack(text string) string {
	for _, m := range modulePath().FindAllStringSubmatch(text, -1) {
		if pkg := m[1]; !notCulprits[pkg] && !strings.HasPrefix(pkg, "@bodytrace/") {
			return pkg
		}
	}
	return ""
}

// blamedError returns the step that names the code responsible for a failed invocation,
// such as a wrapper that dropped the streaming marker, with Who set to the name it is
// blamed under and a one-line Note. The name comes from, in order: an error step's who;
// a node_modules package on a stack in an error step's note; and, when the helper saw a
// streaming handler called as a buffered one, the first package on the stack of the
// error the runtime reported.
func (r *Record) blamedError() (line.Step, bool) {
	var drop *line.Step // the helper saw a streaming handler called as a buffered one
	for i := range r.Steps {
		if s := &r.Steps[i]; s.Stage == "stream" && s.Phase == "error" {
			drop = s
			break
		}
	}
	found, ok := r.errorStepNaming()
	if !ok && drop != nil && r.Response != nil {
		if pkg := packageOnStack(r.Response.errorText()); pkg != "" {
			found, ok = *drop, true
			found.Who, found.Note = pkg, firstLine(drop.Note)+" (on the stack of the error: "+pkg+")"
		}
	}
	if !ok {
		return line.Step{}, false
	}
	found.Who = culpritName(found.Who)
	if drop != nil && found.Stage != "stream" {
		found.Note = firstLine(drop.Note) + "; " + found.Note
	}
	return found, true
}

// errorStepNaming finds the first error step that names someone: by its who, else by a
// package on the stack its note carries.
func (r *Record) errorStepNaming() (line.Step, bool) {
	for _, s := range r.Steps {
		if s.Phase == "error" && s.Who != "" && s.Who != "unknown" {
			s.Note = firstLine(s.Note)
			return s, true
		}
	}
	for _, s := range r.Steps {
		if pkg := packageOnStack(s.Note); s.Phase == "error" && pkg != "" {
			s.Who, s.Note = pkg, firstLine(s.Note)+" (on the stack: "+pkg+")"
			return s, true
		}
	}
	return line.Step{}, false
}

// wrapperOnStack returns the outermost known wrapper package on a stack, or "": the one
// whose code called everything inside it, so the wrapper the runtime handed the invocation
// to. A vendor's packages count as one wrapper, named by its innermost package
// (@sentry/aws-serverless's wrapHandler runs through @sentry/core: Sentry is blamed as
// @sentry/aws-serverless). The runtime client and bodytrace never count.
func wrapperOnStack(text string) string {
	pkg, vendor := "", ""
	for _, m := range modulePath().FindAllStringSubmatch(text, -1) {
		p := m[1]
		if notCulprits[p] || !knownWrapper(p) {
			continue
		}
		if v := culpritName(p); v != vendor {
			pkg, vendor = p, v
		}
	}
	return pkg
}

// knownWrapper reports whether pkg is one of the wrappers people know by name.
func knownWrapper(pkg string) bool {
	_, ok := layer.KnownWrapper(pkg)
	return ok
}

// stackBlame blames a failed invocation on the outermost known wrapper on the stack of
// the error the runtime posted to /error, when no step line named anyone (an ES module
// handler on aws-lambda-ric 4, where the helper sees no handler call): the verdict is
// lost:middleware:<package>, and the reason quotes the error so a person can tell a
// wrapper's fault (a dropped streaming marker) from the handler's own.
func (r *Record) stackBlame() (Verdict, bool) {
	resp := r.Response
	if resp == nil || resp.Mode != ModeError {
		return Verdict{}, false
	}
	text := resp.errorText()
	pkg := wrapperOnStack(text)
	if pkg == "" {
		return Verdict{}, false
	}
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal([]byte(text), &doc)
	what, hint := orNone(resp.ErrorType), ""
	if m := streamMethodMissing().FindString(doc.ErrorMessage); m != "" {
		// Only this fixed-form message is quoted: others may carry the user's data.
		what += ": " + m
		hint = ": a streaming handler was called without its response stream, so the wrapper dropped the streaming marker"
	}
	// Named as the Node.js helper names it (sentry for @sentry/*), so a verdict does not
	// depend on which evidence arrived; the package is in the reason.
	return lost(middlewarePre+culpritName(pkg), "the function failed (%s) and the error passed through %s, the outermost wrapper on its stack%s", what, pkg, hint), true
}

// streamMethodMissing is the error a streaming handler throws when a wrapper calls it as
// a buffered one: the context object in place of the response stream has none of its methods.
var streamMethodMissing = lazyRegexp(`[A-Za-z_$][\w$]*\.(write|end|setContentType|on|once|pipe|cork) is not a function|Cannot read properties of undefined \(reading '(write|end|setContentType)'\)`)

// lazyRegexp compiles expr on first use: the extension's init is on every cold start's
// path, and these expressions serve only failed or unusual invocations.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
