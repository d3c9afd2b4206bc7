import net from "node:net";

/**
 * Fails with Node's EADDRINUSE error (naming the port) when another process listens on
 * `host:port`; port 0 (any free port) always passes. Start-up asks this before it opens or
 * migrates a database, which can take seconds, and before it locks a data directory, whose
 * "in use" would hide the real trouble when two servers share a checkout.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
