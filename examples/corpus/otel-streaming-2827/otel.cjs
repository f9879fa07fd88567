'use strict';
// What the OpenTelemetry Lambda layer's wrapper does before the runtime loads the handler
// (AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-handler puts it in NODE_OPTIONS with --require): a tracer
// provider and the AWS Lambda instrumentation, which wraps the handler named by _HANDLER.
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { AwsLambdaInstrumentation } = require('@opentelemetry/instrumentation-aws-lambda');

const provider = new NodeTracerProvider();
provider.register();
registerInstrumentations({ instrumentations: [new AwsLambdaInstrumentation()] });
