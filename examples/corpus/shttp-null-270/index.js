'use strict';
// dougmoscrop/serverless-http#270 ("Receiving null from lambda"): the handler awaits
// serverless-http, logs the full response, stores it on context.res (an Azure Functions habit)
// and returns nothing, so Lambda answers `null`. ?variant=twin returns the result, as the
// serverless-http README does.
const express = require('express');
const serverless = require('serverless-http');

const app = express();
app.use(express.json());
app.get('*', async (req, res) => res.json({ lambda: true, items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: 'item ' + i })) }));

const handler = serverless(app, { provider: 'aws' });

exports.handler = async (event, context) => {
  const tmp = await handler(event, context);
  if (event.queryStringParameters && event.queryStringParameters.variant === 'twin') return tmp;
  console.log('tmp', tmp.statusCode, tmp.body.length);
  context.res = tmp;
};
