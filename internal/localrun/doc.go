// Package localrun runs bodytrace locally with real parts: the AWS Lambda Runtime Interface
// Emulator (classic and Managed Instances modes, in a private mount namespace so /opt and
// /var stay untouched), the Node.js runtime client or an aws-lambda-go binary, and Jaeger
// v2 as the trace backend. The end-to-end tests and the demo share it.
package localrun
