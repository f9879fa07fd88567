'use strict';
// H4ad/serverless-adapter#165 ("`Transfer-Encoding: chunked` response support"): the issue's
// Express route sets Transfer-Encoding: chunked and writes its answer in two parts; through an
// ALB, @h4ad/serverless-adapter 4.0.1 returns the HTTP chunk framing ("19\r\n...0\r\n\r\n") as
// part of the body. 4.2.0 strips the framing. ?variant=bug runs 4.0.1, ?variant=twin 4.2.0.
const express = require('express');

const app = express();
app.get('*', async (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Transfer-Encoding', 'chunked');
  res.status(200);
  res.write('INITIAL PAYLOAD RESPONSE\n');
  await new Promise((resolve) => setTimeout(resolve, 50)); // the issue waits 5 s
  res.end('FINAL PAYLOAD RESPONSE\n');
});

function build(pkg) {
  const { ServerlessAdapter } = require(pkg);
  const { ExpressFramework } = require(pkg + '/frameworks/express');
  const { DefaultHandler } = require(pkg + '/handlers/default');
  const { PromiseResolver } = require(pkg + '/resolvers/promise');
  const { AlbAdapter } = require(pkg + '/adapters/aws');
  return ServerlessAdapter.new(app)
    .setFramework(new ExpressFramework())
    .setHandler(new DefaultHandler())
    .setResolver(new PromiseResolver())
    .addAdapter(new AlbAdapter())
    .build();
}

const bug = build('@h4ad/serverless-adapter');
const twin = build('serverless-adapter-fixed');

exports.handler = (event, context) =>
  (event.queryStringParameters && event.queryStringParameters.variant === 'twin' ? twin : bug)(event, context);
