// Package layer holds what the Lambda layer ships besides the extension binary: the exec
// wrapper (bodytrace-wrapper) that points a managed runtime at the Runtime API proxy, and the
// language helpers it loads. The Go files here only test those artifacts.
package layer
