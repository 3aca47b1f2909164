/**
 * Runs the PyTorch peer (bench/torch_peer.py) as a child process: the config goes in as JSON on
 * stdin, the results come back as one JSON object on stdout; its progress lines (stderr) are
 * passed through. Never throws: a missing interpreter, a missing torch or a crash comes back as
 * { ok: false, error }, so the benchmark prints the PyTorch columns as unavailable.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";

/** Debian's interpreter, which has python3-torch; the pyenv python3 on PATH does not. */
export const DEFAULT_PYTHON = "/usr/bin/python3";

export interface TorchTiming {
  seconds: number;
  tokensPerS: number;
  msPerToken: number;
}

export interface TorchResult {
  ok: boolean;
  error?: string;
  torch?: string;
  python?: string;
  threads?: number;
  interopThreads?: number;
  blas?: { buildBlas: string | null; linkedBlas: string[] };
  matmulGflops?: number;
  params?: number;
  paramTensors?: number;
  train?: {
    batch: number;
    seqLen: number;
    steps: number;
    warmup: number;
    msPerStep: number;
    msPerStepMin: number;
    tokensPerS: number;
    lossFirst: number;
    lossLast: number;
  };
  sample?: {
    batch: number;
    promptLen: number;
    newTokens: number;
    cached: TorchTiming;
    full?: TorchTiming;
    speedup?: number;
    cacheMaxAbsDiff: number;
  };
  peakRssMBAfterTrain?: number;
  peakRssMB?: number;
  wallS?: number;
  /** OMP_WAIT_POLICY the peer ran with. */
  ompWaitPolicy?: string;
}

export function runTorchPeer(
  script: string,
  config: unknown,
  opts: { python?: string; timeoutMs?: number } = {},
): Promise<TorchResult> {
  const python = opts.python ?? process.env.BCR_TORCH_PYTHON ?? DEFAULT_PYTHON;
  if (!fs.existsSync(python)) {
    return Promise.resolve({
      ok: false,
      error: `${python} not found (Debian's python3 with python3-torch is expected there)`,
    });
  }
  const t0 = performance.now();
  return new Promise((resolve) => {
    // Passive OpenMP waiting: with GOMP's default spin-waiting, torch's worker threads and
    // OpenBLAS's own threads fight over 2 cores (worse with any other load), and small-op
    // workloads (sampling) ran up to ~25x slower in our measurements.
    const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? "PASSIVE" };
    const child = spawn(python, [script], { stdio: ["pipe", "pipe", "pipe"], env });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 10 * 60_000);
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      process.stderr.write(d);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `could not start ${python}: ${e.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").pop() ?? "";
      try {
        const res = JSON.parse(last) as TorchResult;
        res.wallS = (performance.now() - t0) / 1000;
        res.ompWaitPolicy = env.OMP_WAIT_POLICY;
        resolve(res);
      } catch {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        const tail = err.trim().split("\n").slice(-3).join(" | ");
        resolve({ ok: false, error: `${python} ${script}: ${why}, no JSON result${tail ? `: ${tail}` : ""}` });
      }
    });
    child.stdin.end(JSON.stringify(config));
  });
}
