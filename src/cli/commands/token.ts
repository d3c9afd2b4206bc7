import { type Command, InvalidArgumentError, Option } from "commander";
import { loadAuthConfig } from "../../auth/auth-config.js";
import { ROLES, type Role } from "../../auth/caller.js";
import { mintToken } from "../../auth/mint-token.js";
import { parseName } from "../../domain/validate.js";
import { choiceOption } from "../client-command.js";
import { CliError, Exit } from "../errors.js";

interface TokenOptions {
  readonly sub: string;
  readonly role: Role;
  readonly ttl?: number;
  readonly feed?: boolean;
}

const DEFAULT_TTL = 3600;
const DEFAULT_FEED_TTL = 365 * 86400;

function wholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("expected seconds > 0");
  return n;
}

function userId(value: string): string {
  try {
    return parseName("sub", value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** `rsvp token`: a development token signed with the server's RSVP_JWT_SECRET. */
export function registerToken(program: Command): void {
  program
    .command("token")
    .description(
      "print a bearer token for development, signed with RSVP_JWT_SECRET (and RSVP_JWT_ISSUER/AUDIENCE if set)",
    )
    .requiredOption("--sub <id>", "the user id the token speaks for", userId)
    .addOption(choiceOption("--role <role>", "what it may do", ROLES).default("user"))
    .addOption(
      new Option(
        "--ttl <seconds>",
        `how long it is valid (default ${DEFAULT_TTL}; with --feed ${DEFAULT_FEED_TTL}, a year)`,
      ).argParser(wholeSeconds),
    )
    .option(
      "--feed",
      "a feed token: for calendar URLs (?token=), good for the calendar feeds its subject may see and nothing else",
    )
    .action(async (opts: TokenOptions) => {
      const auth = loadAuthConfig(process.env);
      if (auth?.key.kind !== "secret") {
        throw new CliError(
          auth
            ? "rsvp token signs with RSVP_JWT_SECRET; a server that verifies public keys takes tokens from its identity provider"
            : "set RSVP_JWT_SECRET (the server's secret) to mint a token",
          Exit.usage,
        );
      }
      const token = await mintToken(auth.key.secret, {
        sub: opts.sub,
        role: opts.role,
        // A calendar app subscribes once and polls for months: a feed token lives long.
        ttlSeconds: opts.ttl ?? (opts.feed ? DEFAULT_FEED_TTL : DEFAULT_TTL),
        issuer: auth.issuer,
        audience: auth.audience,
        feed: opts.feed,
      });
      process.stdout.write(`${token}\n`);
    });
}
