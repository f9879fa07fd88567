// Package capture takes a redacted, size-capped sample of an invocation's payload: the
// request's headers, query parameters, path and (only when asked for) body, and result
// documents. Redaction always runs before the size cap and before anything leaves the
// package, so a secret can be neither exported nor logged, whole or in part.
//
// What is redacted:
//   - headers named in Config.RedactHeaders (authorization, cookie, set-cookie, x-api-key,
//     ...), and headers whose name matches Config.RedactKeys;
//   - query parameters, form fields and JSON object keys whose lower-cased name contains
//     an entry of Config.RedactKeys (password, secret, token, key, ...), at any depth,
//     including JSON documents carried inside JSON strings (an API Gateway result's body);
//   - query parameters and passwords of URLs found in header values (Referer, Location).
//
// What is not: free text. A text body that is neither JSON nor form-encoded is kept as it
// is (capped), and binary bodies are replaced by their size. This is why bodies are only
// captured with BODYTRACE_CAPTURE=body.
package capture
