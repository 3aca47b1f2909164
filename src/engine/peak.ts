/**
 * The machine's sgemm peak, the ceiling every FLOP rate here is held against, measured two ways
 * in the run that uses it: one n^3 float32 matmul through tfjs (2 n^3 FLOPs a call) with the
 * BLAS on one thread per call, and again on every core. Shared by `npm run bench` and
 * `bcr profile`, so both hold their figures to the same measurement.
 *
 * Why both: the work runs on one thread per OpenBLAS call (BCR_BLAS_THREADS, default 1), and the
 * data-parallel SFT workers and RL worker processes use the other cores as whole threads. A
 * one-worker phase is judged against one thread's peak; work spread over the cores against the
 * machine's (OpenBLAS with its thread count set to the core count: on the study's 2-core EPYC
 * it is well over twice the 1-thread figure, as PyTorch's 2-thread matmul in bench.json shows,
 * so two 1-thread figures would flatter the data-parallel row).
 *
 * The thread count is set through the native kernel set (openblas_set_num_threads, process-wide)
 * and put back afterwards. Other backends have no such control: their one figure is recorded
 * under the thread count they compute with (wasm's XNNPACK and the cpu backend 1, tfjs-node
 * every core) and the other figure is null.
 */
import * as os from "node:os";
import { backendInfo, tf } from "./backend.js";
import { enableNativeKernels, nativeKernelsInfo } from "./native-kernels.js";

/** One figure: GFLOP/s with the BLAS on `threads` threads per call. */
export interface PeakFigure {
  threads: number;
  gflops: number;
}

export interface SgemmPeak {
  /** The matmul is n x n times n x n, float32. */
  n: number;
  /** Timed calls per figure (after two untimed ones). */
  reps: number;
  /** os.availableParallelism(): the thread count of the all-cores figure. */
  cores: number;
  /** One thread per call; null where the backend's threads cannot be set to one. */
  oneThread: PeakFigure | null;
  /** Every core: the machine's peak. Null where the backend computes on one thread only. */
  allCores: PeakFigure | null;
  /** How the thread count was set: OpenBLAS's (the native kernel set), or the backend's own, fixed. */
  threadControl: "openblas" | "backend";
}

/** GFLOP/s of an n^3 float32 matmul on the backend as it is set up now. */
export function matmulGflops(n = 1024, reps = 8): number {
  const a = tf.randomNormal([n, n]),
    b = tf.randomNormal([n, n]);
  // (not tf.tidy(() => c.dataSync()): tidy would walk the returned million-entry array)
  const once = () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  // two untimed calls: kernel set-up, and OpenBLAS starting its threads after a new thread count
  once();
  once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) once();
  const sec = (performance.now() - t0) / 1000;
  tf.dispose([a, b]);
  return (2 * n ** 3 * reps) / sec / 1e9;
}

/**
 * Measures the peak on one thread and on every core (call after initBackend). With the native
 * kernel set, OpenBLAS's thread count is set for each figure and restored to what it was.
 * `time` takes one figure at the thread count set now (tests pass their own).
 */
export function measureSgemmPeak(o: {
  n: number;
  reps: number;
  cores?: number;
  time?: (n: number, reps: number) => number;
}): SgemmPeak {
  const cores = o.cores ?? os.availableParallelism();
  const time = o.time ?? matmulGflops;
  const base = { n: o.n, reps: o.reps, cores };
  const backend = backendInfo();
  // the native set stays registered when another backend is chosen later: it counts only under wasm
  const native = backend?.kernels?.engine === "native" ? nativeKernelsInfo() : null;
  if (!native) {
    const threads = backend?.threads ?? 1;
    const figure = { threads, gflops: time(o.n, o.reps) };
    return {
      ...base,
      oneThread: threads === 1 ? figure : null,
      allCores: threads === cores ? figure : null,
      threadControl: "backend",
    };
  }
  const before = native.threads;
  const at = (threads: number): PeakFigure => {
    enableNativeKernels({ threads });
    return { threads, gflops: time(o.n, o.reps) };
  };
  try {
    const oneThread = at(1);
    return { ...base, oneThread, allCores: cores === 1 ? oneThread : at(cores), threadControl: "openblas" };
  } finally {
    enableNativeKernels({ threads: before });
  }
}

/**
 * The peak that work on `threads` threads at once is held to (its MFU's denominator): one
 * thread's when it runs on one, else the machine's (all cores: an upper bound for work on fewer
 * threads than cores).
 */
export function peakFor(
  peak: SgemmPeak,
  threads: number,
): { against: "oneThread" | "allCores"; gflops: number | null } {
  const against = threads <= 1 ? "oneThread" : "allCores";
  return { against, gflops: peak[against]?.gflops ?? null };
}

/** "1 thread 56.4 GFLOP/s, 2 threads (the machine) 190 GFLOP/s", a missing figure as "n/a". */
export function formatPeak(p: SgemmPeak, fmt: (x: number) => string): string {
  const one = p.oneThread ? `${fmt(p.oneThread.gflops)} GFLOP/s` : "n/a (the backend's threads are fixed)";
  const all = p.allCores ? `${fmt(p.allCores.gflops)} GFLOP/s` : "n/a (the backend computes on one thread)";
  return `1 thread ${one}, ${p.cores} threads (the machine) ${all}`;
}

/**
 * The machine's peak as one figure: every core's, or the one figure a backend with fixed threads
 * has. The study records it around each experiment, beside its stage times (runner.ts). It is a
 * short burst (8 calls of 2 GFLOP each): on the study's 2-core EPYC it has read from 58 to 114
 * GFLOP/s on one thread in different sessions and from 88 to 161 on both within one study run,
 * far more than the study's stage times moved, so it is a record, not a speed to scale by.
 */
export function machinePeak(
  o: { n?: number; reps?: number; cores?: number; time?: (n: number, reps: number) => number } = {},
): PeakFigure | null {
  const p = measureSgemmPeak({ ...o, n: o.n ?? 1024, reps: o.reps ?? 8 });
  return p.allCores ?? p.oneThread;
}
