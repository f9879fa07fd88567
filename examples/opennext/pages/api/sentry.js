// The seed's case: an API route wrapped by @sentry/nextjs 7.x. On Lambda (LAMBDA_TASK_ROOT set)
// Sentry's wrapper replaces res.end with one that first waits for its event queue to be sent to
// SENTRY_DSN, so the end comes after OpenNext's buffered wrapper has taken the response: the
// caller gets 200 and an empty body.
import * as Sentry from "@sentry/nextjs";

Sentry.init({ dsn: process.env.SENTRY_DSN, tracesSampleRate: 1.0 });

function handler(req, res) {
  res.status(200).json({ ok: true, route: "sentry", message: "hello from an API route wrapped by Sentry" });
}

export default Sentry.wrapApiHandlerWithSentry(handler, "/api/sentry");
