import { randomBytes } from "node:crypto";
import postgres from "postgres";
import type { DatabaseTarget } from "../../src/db/engine/open.js";
import { memoryTarget } from "./embedded-template.js";

/** A database for one test file, dropped afterwards. */
export interface TestDatabase {
  readonly target: DatabaseTarget;
  drop(): Promise<void>;
}

/** A database backend the suites run on. */
export interface TestBackend {
  readonly name: "embedded" | "postgres";
  create(): Promise<TestDatabase>;
}

const embedded: TestBackend = {
  name: "embedded",
  async create() {
    return { target: await memoryTarget(), drop: async () => {} };
  },
};

/** A fresh database on the server DATABASE_URL points at, with the real migrations to come. */
function postgresBackend(adminUrl: string): TestBackend {
  return {
    name: "postgres",
    async create() {
      const name = `rsvp_test_${randomBytes(6).toString("hex")}`;
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return {
        target: { kind: "postgres", url: url.toString() },
        async drop() {
          const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
          try {
            await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          } finally {
            await sql.end();
          }
        },
      };
    },
  };
}

/** The Postgres server under test, if any. */
export const postgresUrl = process.env.DATABASE_URL?.startsWith("postgres")
  ? process.env.DATABASE_URL
  : undefined;

/** The embedded database always, and the Postgres server when DATABASE_URL names one. */
export const backends: TestBackend[] = postgresUrl
  ? [embedded, postgresBackend(postgresUrl)]
  : [embedded];

/** Only the Postgres server: for claims that need real concurrency (empty without one). */
export const postgresBackends: TestBackend[] = backends.filter((b) => b.name === "postgres");
