'use strict';
// dougmoscrop/serverless-http#122 ("Encoding issues with fs.pipe & images?"): a PNG served with
// serve-static (express.static) through serverless-http without its `binary` option: the
// image bytes go back as a UTF-8 string and the client gets a corrupt image.
// ?variant=twin is the fix from the thread: `binary` set.
const path = require('path');
const express = require('express');
const serverless = require('serverless-http');

const app = express();
app.use((req, res, next) => { req.url = '/pixel.png'; next(); });
// No Last-Modified or mtime-based ETag: /var/task's copy has a new mtime on every run, and the
// end-to-end test compares the caller's bytes with and without the layer.
app.use(express.static(path.join(__dirname, 'public'), { lastModified: false, etag: false }));

const bug = serverless(app);
const twin = serverless(app, { binary: ['image/*'] });

exports.handler = (event, context) =>
  (event.queryStringParameters && event.queryStringParameters.variant === 'twin' ? twin : bug)(event, context);
