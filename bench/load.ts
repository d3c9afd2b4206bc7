// The load generator: its own process, so its CPU is not the server's. It reads one task per
// stdin line ({id, task}) and answers each with one JSON line ({id, result} or {id, error}) on
// stdout; tasks may overlap. It exits when stdin closes.
import { createInterface } from "node:readline";
import { closeListeners, openListeners, runQuery, runVerify } from "./load-streams.js";
import { runUnary } from "./load-unary.js";
import type { Task } from "./tasks.js";

function run(task: Task): Promise<unknown> {
  switch (task.kind) {
    case "unary":
      return runUnary(task);
    case "query":
      return runQuery(task);
    case "listen-open":
      return openListeners(task);
    case "listen-close":
      return closeListeners(task);
    case "verify":
      return runVerify(task);
  }
}

const answer = (msg: object) => process.stdout.write(`${JSON.stringify(msg)}\n`);

createInterface({ input: process.stdin })
  .on("line", (line) => {
    const { id, task } = JSON.parse(line) as { id: number; task: Task };
    run(task).then(
      (result) => answer({ id, result }),
      (err: unknown) => answer({ id, error: err instanceof Error ? err.stack : String(err) }),
    );
  })
  .on("close", () => process.exit(0));
