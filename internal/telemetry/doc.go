// Package telemetry speaks the Lambda Telemetry API: it subscribes an
// extension to the platform, function and extension streams, runs the HTTP
// listener Lambda delivers batches to, and decodes the events in them.
//
// The flow an extension follows:
//
//	l, err := telemetry.Listen(telemetry.DefaultAddr(ctx), handle, logger) // bind before subscribing
//	sub, err := telemetry.Subscribe(ctx, nil, runtimeAPI, extensionID, l.URI(),
//		[]string{"platform", "function"}, telemetry.Buffering{})
//	if !sub.Supported { /* no telemetry here (the emulator in classic mode) */ }
//
// Events are keyed by request id ([Event.RequestID]); the typed records
// ([Start], [RuntimeDone], [Report], ...) come from [Event.Decode], and log
// lines, in Text or JSON log format, from [Event.LogLine].
//
// Shapes follow the AWS "Lambda Telemetry API Event schema reference" for
// schema versions 2022-12-13 and 2025-01-29. Lambda Managed Instances (schema
// 2025-01-29 only) send no platform.runtimeDone: there, platform.report
// carries the responseLatency and responseDuration spans instead.
package telemetry
