import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../domain/config-error.js";

/** A certificate chain and its private key (PEM), served on both ports. */
export interface TlsConfig {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function read(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/**
 * TLS from RSVP_TLS_CERT_FILE and RSVP_TLS_KEY_FILE (both or neither), checked now so that a
 * wrong file is a one-line error at start-up rather than a failed handshake later.
 */
export function loadTlsConfig(env: NodeJS.ProcessEnv): TlsConfig | undefined {
  const certFile = env.RSVP_TLS_CERT_FILE || undefined;
  const keyFile = env.RSVP_TLS_KEY_FILE || undefined;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new ConfigError("set both RSVP_TLS_CERT_FILE and RSVP_TLS_KEY_FILE, or neither");
  }
  const cert = read("RSVP_TLS_CERT_FILE", certFile);
  const key = read("RSVP_TLS_KEY_FILE", keyFile);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`RSVP_TLS_CERT_FILE: ${certFile} holds no PEM certificate`);
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) {
      throw new ConfigError(`RSVP_TLS_KEY_FILE: ${keyFile} is not the key of ${certFile}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`RSVP_TLS_KEY_FILE: ${keyFile} holds no PEM private key`);
  }
  return { cert, key };
}
