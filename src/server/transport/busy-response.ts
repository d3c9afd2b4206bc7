/** The part of an HTTP/1.1 or HTTP/2 response this answer uses. */
interface Response {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(): unknown;
  end(body: string): unknown;
}

/**
 * Answers a request refused for load so that each client reads RESOURCE_EXHAUSTED in its own
 * protocol: gRPC and gRPC-Web as a trailers-only response (HTTP 200, `grpc-status: 8`),
 * Connect unary as HTTP 429 with its JSON error body; anything else (Connect streaming reads
 * it as UNAVAILABLE, a browser or probe as Too Many Requests) as a plain 429. Retry-After
 * tells them all when to try again.
 */
export function answerBusy(contentType: string | undefined, res: Response, message: string): void {
  const type = contentType ?? "";
  if (/^application\/grpc(-web)?([+;]|$)/i.test(type)) {
    res.writeHead(200, {
      "content-type": type,
      "grpc-status": "8",
      "grpc-message": encodeURIComponent(message),
    });
    res.end();
  } else if (/^application\/(json|proto)([;]|$)/i.test(type)) {
    res.writeHead(429, { "content-type": "application/json", "retry-after": "1" });
    res.end(JSON.stringify({ code: "resource_exhausted", message }));
  } else {
    res.writeHead(429, { "content-type": "text/plain", "retry-after": "1" });
    res.end(`${message}\n`);
  }
}
