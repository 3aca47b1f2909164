/**
 * Decode throughput as the eval stage gets it (src/reproduce/eval-pool.ts): sampled generation
 * with the KV cache at the trained model's shape, in 1 worker thread and in W threads at once,
 * each thread its own backend and model, each decoding its own stream of requests (the same
 * prompts, its own seeds). Tokens/s is all threads' new tokens / the wall time from "go" until
 * the last thread is done; coresBusy is the process's CPU time (all threads) / that wall time.
 */
import { startWorkerBeside } from "../../src/util/worker.js";
import type { GPTConfig } from "../../src/model/gpt.js";
import { backendInfo } from "../../src/engine/backend.js";

export type ToDecodeThread =
  | {
      kind: "init";
      model: GPTConfig;
      prompts: number[][];
      newTokens: number;
      rounds: number;
      seed: number;
      backend: string | null;
      kernels: string | null;
    }
  | { kind: "go" };
export type FromDecodeThread =
  | { kind: "ready" }
  | { kind: "done"; tokens: number; seconds: number }
  | { kind: "error"; message: string };

export interface DecodeTiming {
  workers: number;
  tokens: number;
  seconds: number;
  tokensPerS: number;
  coresBusy: number;
}

export interface DecodeBench {
  batch: number;
  newTokens: number;
  /** generate calls per thread, timed. */
  rounds: number;
  single: DecodeTiming;
  parallel: DecodeTiming | null;
  /** parallel tokens/s / single tokens/s. */
  scaling: number | null;
}

async function timeThreads(
  workers: number,
  shape: { model: GPTConfig; prompts: number[][]; newTokens: number; rounds: number },
): Promise<DecodeTiming> {
  const info = backendInfo();
  const threads = Array.from({ length: workers }, () => startWorkerBeside(import.meta.url, "decode-thread"));
  const next = (i: number) =>
    new Promise<FromDecodeThread>((resolve, reject) => {
      const w = threads[i]!;
      const onExit = (code: number) => reject(new Error(`decode thread ${i + 1} exited (code ${code})`));
      w.once("error", reject);
      w.once("exit", onExit);
      w.once("message", (m: FromDecodeThread) => {
        w.off("error", reject);
        w.off("exit", onExit);
        if (m.kind === "error") reject(new Error(`decode thread ${i + 1}: ${m.message}`));
        else resolve(m);
      });
    });
  try {
    const ready = threads.map((_, i) => next(i));
    threads.forEach((w, i) =>
      w.postMessage({
        kind: "init",
        ...shape,
        seed: 1000 * (i + 1),
        backend: info?.name ?? null,
        kernels: info?.kernels?.engine ?? null,
      } satisfies ToDecodeThread),
    );
    await Promise.all(ready);
    const done = threads.map((_, i) => next(i));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const w of threads) w.postMessage({ kind: "go" } satisfies ToDecodeThread);
    const results = (await Promise.all(done)) as Extract<FromDecodeThread, { kind: "done" }>[];
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const tokens = results.reduce((a, r) => a + r.tokens, 0);
    return {
      workers,
      tokens,
      seconds,
      tokensPerS: tokens / seconds,
      coresBusy: (cpu.user + cpu.system) / 1e6 / seconds,
    };
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

/** Decode at `model`'s shape in 1 thread, then in `workers` threads at once (workers 1: only the first). */
export async function benchDecode(
  model: GPTConfig,
  prompts: number[][],
  newTokens: number,
  rounds: number,
  workers: number,
): Promise<DecodeBench> {
  const shape = { model, prompts, newTokens, rounds };
  const single = await timeThreads(1, shape);
  const parallel = workers > 1 ? await timeThreads(workers, shape) : null;
  return {
    batch: prompts.length,
    newTokens,
    rounds,
    single,
    parallel,
    scaling: parallel ? parallel.tokensPerS / single.tokensPerS : null,
  };
}
