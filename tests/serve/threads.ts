/**
 * Test helpers for the servers' latency tests: worker threads that act as outside clients.
 * A probe thread has its own event loop, so a probe is in flight whenever the server's event
 * loop (the test's main thread) stalls, as an outside client's request would be, and the stall
 * shows in that probe's latency.
 */
import { Worker } from "node:worker_threads";

/** GET `workerData.path` one after another (10 ms apart) until sent any message; then posts every latency in ms. */
export const PROBE = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const u = new URL(workerData.path, workerData.url);
let stop = false;
parentPort.on("message", () => { stop = true; });
const get = () => new Promise((resolve, reject) => {
  const req = http.get({ host: u.hostname, port: u.port, path: u.pathname, agent }, (res) => {
    res.resume();
    res.on("end", () => resolve(res.statusCode));
  });
  req.on("error", reject);
});
(async () => {
  const ms = [];
  const statuses = new Set();
  parentPort.postMessage({ kind: "probing" });
  while (!stop) {
    const t = performance.now();
    statuses.add(await get());
    ms.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 10));
  }
  agent.destroy();
  parentPort.postMessage({ kind: "probes", ms, statuses: [...statuses] });
})().catch((e) => parentPort.postMessage({ kind: "error", message: String((e && e.stack) || e) }));
`;

/** A worker thread running `code` (CommonJS), with a promise for the first message of each kind. */
export function thread(code: string, workerData: unknown) {
  const worker = new Worker(code, { eval: true, workerData });
  const waiting = new Map<string, (m: unknown) => void>();
  const got = new Map<string, unknown>();
  let failure: Error | null = null;
  const fail = (e: Error) => {
    failure = e;
    for (const resolve of waiting.values()) resolve(undefined);
  };
  worker.on("message", (m: { kind: string; message?: string }) => {
    if (m.kind === "error") return fail(new Error(m.message));
    got.set(m.kind, m);
    waiting.get(m.kind)?.(m);
  });
  worker.on("error", fail);
  const next = async <T>(kind: string): Promise<T> => {
    const m = got.has(kind) ? got.get(kind) : await new Promise((resolve) => waiting.set(kind, resolve));
    if (failure) throw failure;
    return m as T;
  };
  return { worker, next };
}

export interface Probed {
  probes: number;
  median: number;
  max: number;
  statuses: number[];
}

/** Probes `url + path` from its own thread while `during()` runs; the latencies' summary and during()'s result. */
export async function probeWhile<T>(
  url: string,
  path: string,
  during: () => Promise<T>,
): Promise<Probed & { result: T }> {
  const probe = thread(PROBE, { url, path });
  try {
    await probe.next("probing");
    const result = await during();
    probe.worker.postMessage("stop");
    const { ms, statuses } = await probe.next<{ ms: number[]; statuses: number[] }>("probes");
    const sorted = ms.slice().sort((a, b) => a - b);
    return {
      result,
      statuses,
      probes: ms.length,
      median: sorted[sorted.length >> 1] ?? NaN,
      max: sorted.at(-1) ?? NaN,
    };
  } finally {
    await probe.worker.terminate();
  }
}

/**
 * Up to `attempts` runs of `run` until one's slowest probe is under `boundMs` (a loaded
 * machine may delay one probe by chance; a server that stalls fails every attempt). Returns
 * every run and a one-line summary of each.
 */
export async function attemptsUnder<R extends Probed>(
  boundMs: number,
  run: () => Promise<R>,
  attempts = 3,
): Promise<{ runs: R[]; last: R; summary: string }> {
  const runs: R[] = [];
  for (let i = 0; i < attempts; i++) {
    runs.push(await run());
    if (runs.at(-1)!.max < boundMs) break;
  }
  const summary = runs
    .map((r) => `${r.probes} probes, median ${r.median.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`)
    .join("; ");
  return { runs, last: runs.at(-1)!, summary };
}
