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
  close(): Promise<void>;
}

/** Starts a receiver that answers 204 unless told otherwise. */
export async function startReceiver(answer: Answer = () => 204): Promise<Receiver> {
  const attempts: Delivery[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const receiver: Receiver = {
    url: "",
    attempts,
    delivered: () => attempts.filter((d) => typeof d.answer === "number" && d.answer < 300),
    maxInFlight: () => maxInFlight,
    answer,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
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
      });
      inFlight--;
      if (given === "drop") req.socket.destroy();
      else {
        res.writeHead(given, { "content-type": "text/plain" });
        res.end(given >= 300 ? "receiver says no" : "");
      }
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, { url: `http://127.0.0.1:${port}/hook` });
}
