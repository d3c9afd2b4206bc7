import net from "node:net";

/** A TCP port free on loopback right now (for a process that must be told its port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const addr = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!addr || typeof addr !== "object") throw new Error("no port");
  return addr.port;
}
