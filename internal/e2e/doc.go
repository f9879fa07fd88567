// Package e2e runs bodytrace end to end with real parts: the AWS Lambda Runtime Interface
// Emulator as Lambda (classic and Managed Instances modes, in a private mount namespace),
// the real Node.js runtime client and aws-lambda-go as runtimes, and Jaeger v2 as the
// trace backend, asserted through Jaeger's query API. The parts are installed by `make
// tools`; without them the tests skip (and fail under CI).
package e2e
