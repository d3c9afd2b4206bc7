// tsc compiles TypeScript only; the SQL migrations travel next to the compiled store.
import { cpSync } from "node:fs";

cpSync("src/db/migrations", "dist/src/db/migrations", { recursive: true });
