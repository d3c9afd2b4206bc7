import http from "node:http";
import type { AddressInfo } from "node:net";

/** One POST the receiver got. */
export interface Delivery {
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly contentType: string;
  readonly body: string;
  /** What the receiver answered: a status, or "drop" (connection cut without an answer). */
  readonly answer: number | "drop";
  /** Which of the receiver's connections carried it (1 for the first one accepted). */
  readonly connection: number;
}

/** How the receiver answers the n-th request (0-based): a status, or "drop". */
export type Answer = (n: number, body: string) => number | "drop";

/** A real HTTP receiver on 127.0.0.1, recording every request in arrival order. */
export interface Receiver {
  readonly url: string;
  /** Every request, answered or not. */
  readonly attempts: Delivery[];
  /** The requests answered 2xx, in order. */
  readonly delivered: () => Delivery[];
  /** The most requests ever in progress at once. */
  readonly maxInFlight: () => number;
  answer: Answer;
  /** How long each answer is held back. */
  delayMs: number;
  close(): Promise<void>;
}

/** Where a receiver listens, and how long it keeps an idle connection open (default 100 ms). */
export interface ReceiverOptions {
  readonly host?: string;
  readonly port?: number;
  readonly keepAliveMs?: number;
}

/** Starts a receiver that answers 204 unless told otherwise. */
export async function startReceiver(
  answer: Answer = () => 204,
  options: ReceiverOptions = {},
): Promise<Receiver> {
  const host = options.host ?? "127.0.0.1";
  const attempts: Delivery[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const receiver: Receiver = {
    url: "",
    attempts,
    delivered: () => attempts.filter((d) => typeof d.answer === "number" && d.answer < 300),
    maxInFlight: () => maxInFlight,
    answer,
    delayMs: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const connections = new WeakMap<object, number>();
  let accepted = 0;
  const server = http.createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const given = receiver.answer(attempts.length, body);
      attempts.push({
        id: String(req.headers["webhook-id"]),
        timestamp: String(req.headers["webhook-timestamp"]),
        signature: String(req.headers["webhook-signature"]),
        contentType: String(req.headers["content-type"]),
        body,
        answer: given,
        connection: connections.get(req.socket) ?? 0,
      });
      const reply = () => {
        inFlight--;
        if (given === "drop") req.socket.destroy();
        else {
          res.writeHead(given, { "content-type": "text/plain" });
          res.end(given >= 300 ? "receiver says no" : "");
        }
      };
      if (receiver.delayMs > 0) setTimeout(reply, receiver.delayMs);
      else reply();
    });
  });
  server.on("connection", (socket) => connections.set(socket, ++accepted));
  server.keepAliveTimeout = options.keepAliveMs ?? 100;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, { url: `http://${host}:${port}/hook` });
}
