// Package otlp sends spans and counters to an OpenTelemetry collector over OTLP, as
// http/protobuf or gRPC, configured by the standard OTEL_EXPORTER_OTLP_* variables.
//
// It is bodytrace's own encoder and client instead of the SDK's OTLP exporters: those pull
// in gRPC and the generated protobuf packages, which doubled the extension's binary and
// cost milliseconds of package initialisation in every cold start. The messages are
// written field by field from the OTLP protos (opentelemetry-proto v1); the tests decode
// them with the generated packages to prove they match.
package otlp
