/**
 * The eval stage's models in worker threads (eval-worker.ts), `workers` at a time, each model
 * evaluated whole by evaluateModel in one thread with its own backend: wasm computes on one
 * thread, so two threads keep both cores of a 2-core machine busy. The thread writes the model's
 * files itself; every request carries its own seed, so which thread evaluates a model, and when,
 * changes no byte of them.
 *
 * Progress: the caller announces each model as it starts (`announce`); a thread's log lines and
 * its sweep progress arrive here as they are written. The progress comes as plain lines, the way
 * a log file gets them: two threads cannot share one redrawn line.
 * Stopping: once `signal` aborts or a model fails, every thread stops before its next batch of
 * requests (sweepN's cache keeps the batches done) and no further model starts; the call then
 * rejects, with the abort's reason or the first failure, which names its model. A killed process
 * takes its threads with it; finished models keep their eval.json, and the next call evaluates
 * only the others.
 */
import type { Worker } from "node:worker_threads";
import type { Problem } from "../bcr/types.js";
import { backendInfo } from "../engine/backend.js";
import { startWorkerBeside } from "../util/worker.js";
import type { ProgressStream } from "../util/progress.js";
import type { ReproduceConfig } from "./config.js";
import type { ModelRef } from "./eval.js";
import type { Log } from "./layout.js";

/** One model for a thread, with everything evaluateModel needs besides it. */
export interface EvalJob {
  ref: ModelRef;
  config: ReproduceConfig;
  problems: Problem[];
  progress: boolean;
  /** The backend and kernel set of the thread that starts the pool (null: the environment's choice). */
  backend: string | null;
  kernels: string | null;
}

export type ToEvalThread = { kind: "eval"; job: EvalJob } | { kind: "stop" };
export type FromEvalThread =
  | { kind: "log"; line: string }
  | { kind: "progress"; chunk: string }
  | { kind: "done" }
  | { kind: "error"; message: string };

export interface PoolOptions {
  workers: number;
  config: ReproduceConfig;
  problems: Problem[];
  log: Log;
  progress: boolean;
  signal?: AbortSignal;
  /** Called as each model starts (the stage's per-model line); `index`: its place in the caller's list. */
  announce: (index: number, ref: ModelRef) => void;
  /** Where the threads' progress lines go (default process.stderr). */
  stream?: ProgressStream;
}

const modelName = (ref: ModelRef) => (ref.seed === null ? ref.method : `${ref.method}/seed-${ref.seed}`);

/** One worker thread that evaluates the models it is sent, one at a time. */
class EvalThread {
  private pending: { name: string; resolve: () => void; reject: (e: Error) => void } | null = null;
  private gone: Error | null = null;

  constructor(
    private readonly worker: Worker,
    log: Log,
    stream: ProgressStream,
  ) {
    worker.on("message", (m: FromEvalThread) => {
      if (m.kind === "log") log(m.line);
      else if (m.kind === "progress") stream.write(m.chunk);
      else if (m.kind === "done") this.settle((p) => p.resolve());
      else this.settle((p) => p.reject(new Error(`eval ${p.name}: ${m.message}`)));
    });
    const fail = (why: string) => {
      this.gone ??= new Error(why);
      this.settle((p) => p.reject(new Error(`eval ${p.name}: ${why}`)));
    };
    worker.on("error", (e) => fail(`its worker thread failed: ${e.message}`));
    worker.on("exit", (code) => fail(`its worker thread exited (code ${code})`));
  }

  evaluate(job: EvalJob): Promise<void> {
    const name = modelName(job.ref);
    if (this.gone) return Promise.reject(new Error(`eval ${name}: ${this.gone.message}`));
    return new Promise((resolve, reject) => {
      this.pending = { name, resolve, reject };
      this.worker.postMessage({ kind: "eval", job } satisfies ToEvalThread);
    });
  }

  /** Ask the model being evaluated to stop before its next batch. */
  stop(): void {
    if (!this.gone) this.worker.postMessage({ kind: "stop" } satisfies ToEvalThread);
  }

  async close(): Promise<void> {
    this.gone ??= new Error("closed");
    await this.worker.terminate();
  }

  private settle(f: (p: NonNullable<EvalThread["pending"]>) => void): void {
    const p = this.pending;
    this.pending = null;
    if (p) f(p);
  }
}

/** Evaluate `todo` (index in the caller's list, model) over `opts.workers` threads; see the header. */
export async function evaluateInThreads(todo: { index: number; ref: ModelRef }[], opts: PoolOptions): Promise<void> {
  const { signal } = opts;
  const info = backendInfo();
  const stream = opts.stream ?? process.stderr;
  const threads = new Set<EvalThread>();
  let failure: Error | null = null;
  const stopAll = () => {
    for (const t of threads) t.stop();
  };
  let next = 0;
  const lane = async () => {
    const t = new EvalThread(startWorkerBeside(import.meta.url, "eval-worker"), opts.log, stream);
    threads.add(t);
    try {
      while (next < todo.length && !signal?.aborted && !failure) {
        const { index, ref } = todo[next++]!;
        opts.announce(index, ref);
        const job: EvalJob = {
          ref,
          config: opts.config,
          problems: opts.problems,
          progress: opts.progress,
          backend: info?.name ?? null,
          kernels: info?.kernels?.engine ?? null,
        };
        try {
          await t.evaluate(job);
        } catch (e) {
          failure ??= e as Error;
          stopAll();
        }
      }
    } finally {
      threads.delete(t);
      await t.close();
    }
  };
  signal?.addEventListener("abort", stopAll);
  try {
    await Promise.all(Array.from({ length: Math.min(opts.workers, todo.length) }, lane));
  } finally {
    signal?.removeEventListener("abort", stopAll);
  }
  signal?.throwIfAborted();
  if (failure) throw failure;
}
