/** A bad setting: reported as one line at start-up. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
