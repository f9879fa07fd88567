// A healthy streamed route (App Router): eight chunks written over time, 8 KiB in all.
export const dynamic = "force-dynamic";

export function GET() {
  const encoder = new TextEncoder();
  const stream = new ReadableStream({
    async start(controller) {
      for (let i = 0; i < 8; i++) {
        controller.enqueue(encoder.encode(`chunk ${i} `.padEnd(1024, ".")));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      controller.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/plain; charset=utf-8" } });
}
