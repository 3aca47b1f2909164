/**
 * Stopping a run early, at a step boundary: after `maxStepsThisRun` steps in this call (how tests
 * interrupt), when an AbortSignal fires, or on SIGINT/SIGTERM. The trainer saves a checkpoint
 * first, so running it again resumes where it stopped.
 */

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

export interface SignalStop {
  /** Aborted on the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** Remove the handlers (call when the run returns). */
  release(): void;
}

/**
 * The first SIGINT or SIGTERM asks the run to stop after its current step (it checkpoints and
 * returns); a second one exits at once with status 130. `label` names the process in the message.
 */
export function stopOnSignals(label: string, log: (line: string) => void = (l) => console.error(l)): SignalStop {
  const ctl = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) process.exit(130);
    log(`\n${label}: ${sig}, stopping after this step (again to quit now)`);
    ctl.abort();
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) process.on(s, onSignal);
  return { signal: ctl.signal, release: () => signals.forEach((s) => process.off(s, onSignal)) };
}

/**
 * A run that stopped early on request (its checkpoint saved), thrown by callers that must not go
 * on as if it had finished, e.g. the next stage of `bcr reproduce`. Running again resumes it.
 */
export class RunStopped extends Error {
  constructor(
    readonly what: string,
    readonly step: number,
  ) {
    super(`${what} stopped at step ${step} (checkpoint saved); run the same command again to resume`);
    this.name = "RunStopped";
  }
}
