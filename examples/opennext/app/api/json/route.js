// A healthy JSON API route (App Router): the body is the same on every request.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ ok: true, route: "json", items: Array.from({ length: 32 }, (_, i) => ({ id: i, name: `item ${i}` })) });
}
