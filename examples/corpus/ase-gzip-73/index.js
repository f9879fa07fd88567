'use strict';
// CodeGenieApp/serverless-express#73 ("Impossible to serve HTML larger than 1kB?"): the
// project's own lambda.js with text/html commented out of binaryMimeTypes. Over 1 kB the
// compression middleware gzips the page and aws-serverless-express returns the gzip bytes as
// a UTF-8 string. ?variant=twin is the documented fix: text/html listed as binary.
const express = require('express');
const compression = require('compression');
const awsServerlessExpress = require('aws-serverless-express');

function app() {
  const a = express();
  a.disable('x-powered-by');
  a.use(compression());
  a.get('*', (req, res) => {
    res.status(200).send('<html><body>' + '<p>a paragraph of the page</p>'.repeat(100) + '</body></html>');
  });
  return a;
}

const common = ['application/octet-stream', 'font/eot', 'font/opentype', 'font/otf', 'image/jpeg', 'image/png', 'image/svg+xml'];
const bug = awsServerlessExpress.createServer(app(), null, common);
const twin = awsServerlessExpress.createServer(app(), null, common.concat(['text/html']));

exports.handler = (event, context) => {
  const server = event.queryStringParameters && event.queryStringParameters.variant === 'twin' ? twin : bug;
  return awsServerlessExpress.proxy(server, event, context, 'PROMISE').promise;
};
