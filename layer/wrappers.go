package layer

import (
	_ "embed"
	"encoding/json"
	"strings"
	"sync"
)

// wrappersJSON lists the wrappers people know by name: the Node.js helper names a package
// on a stack with it (node/lib/culprit.cjs), and the extension names a package blamed on
// an error's stack with it, so both say "sentry" for @sentry/aws-serverless.
//
//go:embed node/lib/wrappers.json
var wrappersJSON []byte

type wrapper struct {
	Name     string   `json:"name"`
	Packages []string `json:"packages"` // npm package names, exactly
	Prefixes []string `json:"prefixes"` // npm name prefixes, such as a scope "@sentry/"
}

var wrappers = sync.OnceValue(func() []wrapper {
	var w []wrapper
	if err := json.Unmarshal(wrappersJSON, &w); err != nil {
		panic("layer: node/lib/wrappers.json: " + err.Error()) // caught by TestWrapperNames
	}
	return w
})

// WrapperName is the short name of a known wrapper's npm package ("sentry" for
// "@sentry/aws-serverless"), or pkg itself.
func WrapperName(pkg string) string {
	if name, ok := KnownWrapper(pkg); ok {
		return name
	}
	return pkg
}

// KnownWrapper returns the short name of pkg when it is a known wrapper's package.
func KnownWrapper(pkg string) (name string, ok bool) {
	for _, w := range wrappers() {
		for _, p := range w.Packages {
			if pkg == p {
				return w.Name, true
			}
		}
		for _, p := range w.Prefixes {
			if strings.HasPrefix(pkg, p) {
				return w.Name, true
			}
		}
	}
	return "", false
}
