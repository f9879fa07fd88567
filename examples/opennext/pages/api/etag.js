// A healthy Pages Router API route whose body never changes: Next.js gives it an etag and
// answers a matching If-None-Match with 304 and no body.
export default function handler(req, res) {
  res.status(200).json({ ok: true, route: "etag", version: 1 });
}
