'use strict';
// CodeGenieApp/serverless-express#353: the example app (Express + compression) without
// binaryMimeTypes. 4.0.0-rc.8 returns the gzip bytes as a UTF-8 string (isBase64Encoded false);
// 4.0.0-rc.11 and later base64-encode a compressed response by themselves.
// ?variant=bug runs the affected version, ?variant=twin the fixed one, same app.
const express = require('express');
const compression = require('compression');
const buggy = require('@vendia/serverless-express');
const fixed = require('serverless-express-fixed');

function app() {
  const a = express();
  a.use(compression());
  a.get('*', (req, res) => {
    res.type('html').send('<!doctype html><html><body>' + '<p>hello from express</p>'.repeat(200) + '</body></html>');
  });
  return a;
}

// Both versions' configure() return { handler, proxy, log }, as the example's lambda.js used them.
// rc.8 logs every request at debug level by default; only errors here, to keep the log short.
const quiet = { debug() {}, info() {}, warn() {}, error: console.error };
const bug = buggy({ app: app(), log: quiet }).handler;
const twin = fixed({ app: app() }).handler;

exports.handler = (event, context) =>
  (event.queryStringParameters && event.queryStringParameters.variant === 'twin' ? twin : bug)(event, context);
