// `npm run docs:bench`: rewrites the benchmark table in docs/benchmark.md from
// bench/results/latest.json; with --check (CI) only says whether the committed table is current.
import { fileURLToPath } from "node:url";
import { updateBenchDoc } from "./bench-doc.js";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const check = process.argv.includes("--check");
const current = updateBenchDoc(root("docs/benchmark.md"), root("bench/results/latest.json"), check);
if (check && !current) {
  process.stderr.write(
    "docs/benchmark.md: the benchmark table is not the one bench/results/latest.json generates; run `npm run docs:bench` and commit the result\n",
  );
  process.exit(1);
}
process.stdout.write(`docs/benchmark.md ${current ? "is current" : "rewritten"}\n`);
