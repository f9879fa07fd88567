// Package secrets reads the OTLP exporter's headers (a backend's API key) from AWS Secrets
// Manager or SSM Parameter Store, by ARN, once at init and within a bounded time, so the
// key need not sit in the function's environment. The value never appears in an error;
// callers must not log it either.
package secrets
