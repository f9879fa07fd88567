'use strict';
// DataDog/datadog-lambda-js#376 ("feat: add response streaming", filed as a bug fix: "our
// current work wouldn't work out of the box"): datadog() in 6.87.0 returns a plain
// (event, context) function, so the runtime no longer sees the streaming marker of
// awslambda.streamifyResponse, calls the handler as a buffered one and responseStream.setContentType
// is not a function. The twin (twin/) is the same code on 6.89.0, which keeps the marker.
const { datadog } = require('datadog-lambda-js');

exports.handler = datadog(
  awslambda.streamifyResponse(async (event, responseStream, _context) => {
    responseStream.setContentType('text/plain');
    responseStream.write('Hello, streaming! '.repeat(100));
    responseStream.end();
  }),
);
