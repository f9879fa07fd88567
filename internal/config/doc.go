// Package config reads bodytrace's settings from the environment: the standard OTEL_*
// variables first, then BODYTRACE_*. An invalid value never fails: it is reported with
// the variable's name and the accepted values, and the safe default is used.
package config
