// getsentry/sentry-javascript#12815 ("Sentry.wrapHandler breaks streaming Lambda handlers"),
// the issue's own code: wrapHandler returns a plain function, the runtime no longer sees the
// streaming marker, calls it as a buffered handler (event, context, callback) and
// responseStream.write is not a function. The twin (twin/) is the same code on 10.11.0, whose
// wrapHandler keeps streaming handlers streaming (getsentry/sentry-javascript#15774).
import * as Sentry from '@sentry/aws-serverless';

Sentry.init({ dsn: process.env.SENTRY_DSN });

export const handler = Sentry.wrapHandler(
  awslambda.streamifyResponse(async function (event, responseStream, _context) {
    responseStream.write('hello');
    responseStream.end();
  }),
);
