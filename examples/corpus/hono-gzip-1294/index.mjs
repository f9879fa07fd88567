// honojs/hono#1294 ("aws-lambda + compress: not working"): the compress middleware sets
// Content-Encoding: gzip but hono 3.3's aws-lambda adapter decides isBase64Encoded from the
// content type only, so it reads the gzip bytes with res.text(). honojs/hono#1295 (3.4.0) also
// looks at Content-Encoding. ?variant=bug runs 3.3.4, ?variant=twin 3.4.0, same app.
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { handle } from 'hono/aws-lambda';
import { Hono as HonoFixed } from 'hono-fixed';
import { compress as compressFixed } from 'hono-fixed/compress';
import { handle as handleFixed } from 'hono-fixed/aws-lambda';

const items = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item ${i}` }));

function app(H, c) {
  const a = new H();
  a.use('*', c());
  a.get('*', (ctx) => ctx.json({ items }));
  return a;
}

const bug = handle(app(Hono, compress));
const twin = handleFixed(app(HonoFixed, compressFixed));

export const handler = (event, context) =>
  (event.queryStringParameters?.variant === 'twin' ? twin : bug)(event, context);
