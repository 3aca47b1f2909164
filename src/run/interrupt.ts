/**
 * Stopping a run early, at a step boundary: after `maxStepsThisRun` steps in this call (how tests
 * interrupt), when an AbortSignal fires, or on SIGINT/SIGTERM. The trainer saves a checkpoint
 * first, so running it again resumes where it stopped.
 *
 * Exit status of a command stopped by a signal: 128 + the signal's number, as a shell reports a
 * process killed by it (SIGINT 130, SIGTERM 143), so a scheduler that sent SIGTERM sees the work
 * was not finished. Every long command (reproduce, sft, train, sweep) returns it.
 */
import * as os from "node:os";

export interface StopOptions {
  /** Stop after this many steps in this call (a test hook for interruption). */
  maxStepsThisRun?: number;
  /** Stop at the next step boundary when aborted. */
  signal?: AbortSignal;
}

/**
 * Whether a run that started this call at `startStep` and is now at `step` should stop. Called at
 * every step boundary; it first lets pending events run, since a training step computes without
 * awaiting anything and a signal handler (or a closed pipe) would otherwise wait for the whole run.
 */
export async function shouldStop(opts: StopOptions, step: number, startStep: number): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  return (
    opts.signal?.aborted === true || (opts.maxStepsThisRun !== undefined && step - startStep >= opts.maxStepsThisRun)
  );
}

/** The exit status of a process stopped by `sig`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (os.constants.signals[sig] ?? 0);
}

/** The abort reason stopOnSignals gives its signal: which signal asked to stop. */
export class Interrupted extends Error {
  constructor(readonly sig: NodeJS.Signals) {
    super(`${sig}: stopped; run the same command again to resume`);
    this.name = "Interrupted";
  }
}

export interface SignalStop {
  /** Aborted on the first SIGINT or SIGTERM (reason: an Interrupted naming it). */
  signal: AbortSignal;
  /** The signal that asked to stop, or null while none has. */
  received(): NodeJS.Signals | null;
  /** The status to exit with after stopping: signalExitCode of the signal received, null while none was. */
  exitCode(): number | null;
  /** Remove the handlers (call when the run returns). */
  release(): void;
}

/**
 * The first SIGINT or SIGTERM asks the run to stop after its current step (it checkpoints and
 * returns); a second one exits at once with that signal's status (130, 143). `label` names the
 * process in the message.
 */
export function stopOnSignals(label: string, log: (line: string) => void = (l) => console.error(l)): SignalStop {
  const ctl = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) process.exit(signalExitCode(sig));
    received = sig;
    log(`\n${label}: ${sig}, stopping after this step (again to quit now)`);
    ctl.abort(new Interrupted(sig));
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) process.on(s, onSignal);
  return {
    signal: ctl.signal,
    received: () => received,
    exitCode: () => (received ? signalExitCode(received) : null),
    release: () => signals.forEach((s) => process.off(s, onSignal)),
  };
}

/**
 * A run that stopped early on request (its checkpoint saved), thrown by callers that must not go
 * on as if it had finished, e.g. the next stage of `bcr reproduce`. Running again resumes it.
 */
export class RunStopped extends Error {
  /**
   * `step`: the training step it stopped at (its checkpoint saved), or null for work that is not
   * stepped, with `kept` saying what was kept (e.g. the eval stage's finished groups).
   */
  constructor(
    readonly what: string,
    readonly step: number | null,
    kept = "checkpoint saved",
  ) {
    super(`${what} stopped${step !== null ? ` at step ${step}` : ""} (${kept}); run the same command again to resume`);
    this.name = "RunStopped";
  }
}
