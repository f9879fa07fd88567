// honojs/hono#2401 ("AWS Lambda Streaming only works with response bodies"): an app that answers
// with a redirect, deployed with streamHandle. hono 4.1.3 writes the status and headers (the
// function URL prelude) only when the response has a body, so the redirect's 302 and Location
// never reach Lambda, which answers 200 with an empty body. honojs/hono#2413 (4.1.5) always writes
// them. ?variant=bug runs 4.1.3, ?variant=twin 4.1.5, same app; both are streaming handlers, so
// the export picks one per request.
import { Hono } from 'hono';
import { streamHandle } from 'hono/aws-lambda';
import { Hono as HonoFixed } from 'hono-fixed';
import { streamHandle as streamHandleFixed } from 'hono-fixed/aws-lambda';

function app(H) {
  const a = new H();
  a.get('*', (c) => c.redirect('/login', 302));
  return a;
}

const bug = streamHandle(app(Hono));
const twin = streamHandleFixed(app(HonoFixed));

export const handler = awslambda.streamifyResponse((event, responseStream, context) =>
  (event.queryStringParameters?.variant === 'twin' ? twin : bug)(event, responseStream, context));
