import type { BenchOptions } from "./options.js";
import type { Processes } from "./processes.js";
import type { Recorder } from "./recorder.js";

/** What a mode tells the report about its setting. */
export interface ModeInfo {
  readonly database: string;
  readonly notes: string[];
}

/** Everything a mode needs from the entry point. */
export interface ModeEnv {
  readonly opts: BenchOptions;
  readonly procs: Processes;
  readonly rec: Recorder;
  readonly workDir: string;
  readonly cpuProfDir?: string;
  /** Registers clean-up that must run however the run ends (also on Ctrl-C). */
  onCleanup(fn: () => Promise<void>): void;
  log(message: string): void;
}
