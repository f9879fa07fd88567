'use strict';
// dougmoscrop/serverless-http#163 ("Binary body results in broken images"): Koa middleware in
// the style of serverless-sharp turns the image into a base64 string and sets it as the body of
// an image/png response; serverless-http (binary: ['image/*']) base64-encodes that string
// again, so after Lambda decodes the body the client holds base64 text, not the image.
// ?variant=twin sets the Buffer itself as the body.
const fs = require('fs');
const path = require('path');
const Koa = require('koa');
const serverless = require('serverless-http');

const image = fs.readFileSync(path.join(__dirname, 'pixel.png'));

const app = new Koa();
app.use(async (ctx) => {
  ctx.type = 'image/png';
  ctx.body = ctx.query.variant === 'twin' ? image : Buffer.from(image, 'binary').toString('base64');
});

exports.handler = serverless(app, { binary: ['image/*'] });
