// open-telemetry/opentelemetry-js-contrib#2827 ("AWS Lambda Instrumentation causes lambda failures
// when using streaming response"), the issue's handler: the instrumentation (loaded by otel.cjs,
// with OpenTelemetry's ES module hook) replaces the export with a plain (event, context, callback)
// function, the runtime no longer sees the streaming marker and responseStream.write is not a
// function. The twin (twin/) is the same code on 0.57.2, which keeps streaming handlers streaming.
export const handler = awslambda.streamifyResponse(async (event, responseStream, _context) => {
  responseStream.write('test payload');
  responseStream.end();
});
