import {
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";

/** A Connect error code (the JSON spelling) and what the caller should do differently. */
type Refusal = readonly [code: string, message: string];

/** The Connect error body (`{"code":…,"message":…}`) of a refusal, as bytes. */
export function refusalBody([code, message]: Refusal): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ code, message })}\n`);
}

/** Writes a refusal in the Connect error format: a JSON body curl and every client can read. */
export function writeRefusal(
  res: {
    writeHead(status: number, headers: Record<string, string>): unknown;
    end(body: Uint8Array): unknown;
  },
  status: number,
  refusal: Refusal,
): void {
  const body = refusalBody(refusal);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(body.byteLength),
  });
  res.end(body);
}

/**
 * Connect's protocol negotiation answers a request it cannot take (a method other than its
 * `allowedMethods`, a content type no protocol speaks, a bidi stream over HTTP/1.1) with a
 * bare status; `curl` then shows nothing of why.
 */
function explain(handler: UniversalHandler, status: number, contentType: string): Refusal {
  const types =
    "application/json or application/proto (Connect), application/grpc, application/grpc-web";
  if (status === 405) {
    return ["unimplemented", `${handler.requestPath} takes ${handler.allowedMethods.join(" or ")}`];
  }
  if (status === 415) {
    const named = contentType ? `content type ${JSON.stringify(contentType)}` : "no content type";
    return ["invalid_argument", `${named}: send ${types}`];
  }
  if (status === 505) return ["unimplemented", `${handler.requestPath} needs HTTP/2`];
  return ["unknown", `HTTP ${status}`];
}

/** `handler`, whose bodiless refusals get a Connect error body saying what to change. */
export function describingRefusals(handler: UniversalHandler): UniversalHandler {
  return Object.assign(async (req: Parameters<UniversalHandler>[0]) => {
    const res: UniversalServerResponse = await handler(req);
    if (res.status < 400 || res.body !== undefined) return res;
    const header = new Headers(res.header);
    header.set("content-type", "application/json");
    if (res.status === 405) header.set("allow", handler.allowedMethods.join(", "));
    const refusal = explain(handler, res.status, req.header.get("content-type") ?? "");
    return { ...res, header, body: createAsyncIterable([refusalBody(refusal)]) };
  }, handler);
}

/**
 * A 404: `/package.Service/Method` names a procedure this server lacks (UNIMPLEMENTED, as
 * gRPC says it), anything else a page or route that is not there.
 */
export function notFound(method = "GET", url = "/"): Refusal {
  const path = url.split("?", 1)[0] ?? "/";
  if (/^\/[\w.]+\.[\w]+\/\w+$/.test(path))
    return ["unimplemented", `no procedure ${path.slice(1)}`];
  return ["not_found", `nothing at ${method} ${path}`];
}
