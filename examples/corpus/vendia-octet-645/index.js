'use strict';
// CodeGenieApp/serverless-express#645 ("Binary data not returned correctly"): an Express route
// sends a Buffer as application/octet-stream through @vendia/serverless-express 4.10.1 with no
// binarySettings: the bytes go back as a UTF-8 string (75 kB in, 110 kB out in the report).
// ?variant=twin is the configuration that works: binarySettings.contentTypes lists the type.
const crypto = require('crypto');
const express = require('express');
const serverlessExpress = require('@vendia/serverless-express');

// 75 kB of fixed pseudo-random bytes, as in the report, the same on every run.
const data = crypto.createHash('sha256').update('bodytrace').digest();
const file = Buffer.alloc(75 * 1024);
for (let i = 0; i < file.length; i++) file[i] = data[i % data.length] ^ (i * 31);

const app = express();
app.get('*', (req, res) => {
  res.setHeader('content-type', 'application/octet-stream');
  res.status(200);
  res.send(file);
});

const bug = serverlessExpress({ app });
const twin = serverlessExpress({ app, binarySettings: { contentTypes: ['application/octet-stream'] } });

exports.handler = (event, context) =>
  (event.queryStringParameters && event.queryStringParameters.variant === 'twin' ? twin : bug)(event, context);
