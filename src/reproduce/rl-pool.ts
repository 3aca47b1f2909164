/**
 * RL runs in worker processes (rl-worker.ts), each with its log in <run>/train.log. Records the
 * worker prints arrive here as they are written and go to `onStep(runName, record)`, the hook a
 * live progress line per run hangs on.
 *
 * Stopping: the first SIGINT/SIGTERM of this process asks every worker to stop after its step
 * (each saves a checkpoint) and exits with that signal's status (130, 143: interrupt.ts) once
 * they have; a second one kills them at once.
 * Workers run in their own process group, so a Ctrl-C in the terminal reaches them only through
 * this process, and each also stops when this process goes away (its stdin closes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { childBackendEnv } from "../engine/backend.js";
import type { RlConfig } from "../rl/config.js";
import { signalExitCode } from "../run/interrupt.js";
import { runFile } from "../run/files.js";
import { processArgsBeside } from "../util/worker.js";
import type { WorkerMessage } from "./rl-worker.js";

/** Called with every metrics record of every run, as it is logged. runName: `<method>/seed-<k>`. */
export type OnStep = (runName: string, record: Record<string, number>) => void;

export interface WorkerResult {
  step: number;
  finished: boolean;
  finalAccuracy: number | null;
}

const children = new Set<ChildProcess>();
/** The signal that asked the workers to stop (null: none yet). */
let stopping: NodeJS.Signals | null = null;

function onSignal(sig: NodeJS.Signals): void {
  if (stopping) {
    for (const c of children) c.kill("SIGKILL");
    process.exit(signalExitCode(sig));
  }
  stopping = sig;
  console.error(
    `\n[reproduce] rl: stopping ${children.size} worker(s) after their current step (again to kill them now)`,
  );
  for (const c of children) c.kill("SIGTERM");
}

function track(child: ChildProcess): void {
  if (children.size === 0) for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, onSignal);
  children.add(child);
}

function untrack(child: ChildProcess): void {
  children.delete(child);
  if (children.size > 0) return;
  for (const s of ["SIGINT", "SIGTERM"] as const) process.off(s, onSignal);
  if (stopping) process.exit(signalExitCode(stopping));
}

/** Train one run in a worker process; resolves with its result once the worker exits cleanly. */
export function trainInWorker(runName: string, config: RlConfig, dir: string, onStep?: OnStep): Promise<WorkerResult> {
  fs.mkdirSync(dir, { recursive: true });
  const logFile = runFile(dir, "log");
  const logFd = fs.openSync(logFile, "a");
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...processArgsBeside(import.meta.url, "rl-worker"), dir, JSON.stringify(config)],
      {
        stdio: ["pipe", "pipe", logFd],
        detached: true,
        env: childBackendEnv(),
      },
    );
    track(child);
    let result: WorkerResult | null = null;
    let pending = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        let m: WorkerMessage | null = null;
        try {
          m = JSON.parse(line) as WorkerMessage;
        } catch {
          m = null;
        }
        if (m?.type === "step") onStep?.(runName, m.record);
        else if (m?.type === "result") result = m.result;
        else fs.appendFileSync(logFile, line + "\n"); // stray stdout (a library's notice) belongs in the log
      }
    });
    child.on("error", (e) => {
      untrack(child);
      fs.closeSync(logFd);
      reject(e);
    });
    child.on("close", (code, signal) => {
      fs.closeSync(logFd);
      untrack(child);
      if (code === 0 && result?.finished) resolve(result);
      else if (code === 0 && result)
        reject(
          new Error(
            `RL worker for ${runName} stopped at step ${result.step} (its checkpoint resumes it); see ${logFile}`,
          ),
        );
      else reject(new Error(`RL worker for ${runName} exited ${signal ?? code}; see ${logFile}`));
    });
  });
}
