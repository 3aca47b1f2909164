/**
 * Scoring off the event loop: a small pool of worker threads, each parsing a request body
 * (JSON.parse, protocol checks) and scoring it, so one large or hostile request never stalls
 * the server (/health, other requests, a drain) and a second core does real work.
 *
 * A job is the raw body bytes in, `{status, body}` out: the item count check (before any
 * parse), the 64 MiB JSON parse, the reply's JSON.stringify and its UTF-8 encoding happen in
 * the worker too, and the bytes are transferred both ways, not copied: the event loop only
 * writes the reply's bytes to the socket (in chunks, see reward-server.ts). Jobs wait
 * in one FIFO queue and go to the first idle worker. A worker that dies (a bug, out of memory)
 * fails its job with a 500 and is replaced.
 *
 * Workers rebuild the scorer from a plain `ScorerSpec` (names and numbers): functions cannot
 * cross threads, so a server given a custom shaping object or token-counter function scores
 * in-process instead (see reward-server.ts).
 */
import { Worker } from "node:worker_threads";
import { makeShaping } from "../rewards/index.js";
import type { TemplateName } from "../bcr/types.js";
import { countItems, DEFAULT_MAX_ITEMS, parseRewardRequest, RequestError, tooManyItems } from "./reward-protocol.js";
import { scoreBatch, type ScorerConfig } from "./reward-scorer.js";
import { makeTokenCounter, type TokenCounterName } from "../bcr/tokens.js";

/** Everything a worker needs to build the scorer: serialisable by structured clone. */
export interface ScorerSpec {
  shaping: string;
  params: Record<string, number>;
  template: TemplateName;
  maxLength: number;
  counter: TokenCounterName;
  targetLength?: number;
  totalSteps?: number;
  /** Items per request (413 above). Default DEFAULT_MAX_ITEMS. */
  maxItems?: number;
}

/** What one scored body turns into: the HTTP status and the JSON reply as UTF-8 bytes. */
export interface ScoreReply {
  status: number;
  /** Owns its whole buffer (byteOffset 0), so it can be transferred between threads. */
  body: Uint8Array;
  items: number;
}

/** The scorer and the request limits a scoring thread applies. */
export interface BodyScorer extends ScorerConfig {
  maxItems?: number;
}

export function scorerFromSpec(spec: ScorerSpec): BodyScorer {
  const cfg: BodyScorer = {
    shaping: makeShaping(spec.shaping, spec.params),
    template: spec.template,
    maxLength: spec.maxLength,
    countTokens: makeTokenCounter(spec.counter),
  };
  if (spec.targetLength !== undefined) cfg.targetLength = spec.targetLength;
  if (spec.totalSteps !== undefined) cfg.totalSteps = spec.totalSteps;
  if (spec.maxItems !== undefined) cfg.maxItems = spec.maxItems;
  return cfg;
}

/**
 * Parse and score one body (both in the worker and, for custom scorers, in-process). A body
 * over the item cap is a 413 found by counting its bytes, before any parse.
 */
export function scoreBody(body: Uint8Array, cfg: BodyScorer): ScoreReply {
  const maxItems = cfg.maxItems ?? DEFAULT_MAX_ITEMS;
  const counted = countItems(body);
  if (counted > maxItems) return reply(413, { error: tooManyItems(counted, maxItems).message });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch (e) {
    return reply(400, { error: `malformed JSON: ${(e as Error).message}` });
  }
  let items = 0;
  try {
    const request = parseRewardRequest(parsed, { maxItems });
    items = request.items.length;
    const result = scoreBatch(request, cfg);
    const bad = result.rewards.findIndex((r) => !Number.isFinite(r));
    if (bad >= 0)
      return reply(
        500,
        { error: `internal error: shaping '${cfg.shaping.name}' gave a non-finite reward for item ${bad}` },
        items,
      );
    return reply(200, result, items);
  } catch (e) {
    if (e instanceof RequestError) return reply(e.status, { error: e.message }, items);
    return reply(500, { error: `internal error: ${(e as Error).message}` }, items);
  }
}

function reply(status: number, body: unknown, items = 0): ScoreReply {
  // TextEncoder gives a fresh buffer of its own (Buffer.from may use the shared pool, which
  // must never be transferred).
  return { status, body: new TextEncoder().encode(JSON.stringify(body)), items };
}

/** The transfer list for a reply: its buffer when the view owns all of it, else nothing (copied). */
export function transferable(b: Uint8Array): ArrayBuffer[] {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? [b.buffer as ArrayBuffer] : [];
}

interface Job {
  body: Uint8Array;
  resolve: (r: ScoreReply) => void;
}
interface Slot {
  worker: Worker;
  job: Job | null;
}

export interface ScorePool {
  score(body: Uint8Array): Promise<ScoreReply>;
  /** Jobs waiting for a worker plus jobs being scored. */
  pending(): number;
  close(): Promise<void>;
}

export function startScorePool(spec: ScorerSpec, size: number): ScorePool {
  if (!(Number.isInteger(size) && size >= 1))
    throw new Error(`score pool size must be a positive integer, got ${size}`);
  scorerFromSpec(spec); // fail here, on the caller's thread, for a bad spec
  const queue: Job[] = [];
  const slots: Slot[] = [];
  let closed = false;

  const spawn = (): Slot => {
    const slot: Slot = { worker: newWorker(spec), job: null };
    slot.worker.on("message", (r: ScoreReply) => {
      const job = slot.job;
      slot.job = null;
      job?.resolve(r);
      next();
    });
    const die = (why: string) => {
      const job = slot.job;
      slot.job = null;
      job?.resolve(reply(500, { error: `internal error: scoring worker ${why}` }));
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      if (!closed) {
        slots.push(spawn());
        next();
      }
    };
    slot.worker.on("error", (e) => die(`failed: ${e.message}`));
    slot.worker.on("exit", (code) => {
      if (slots.includes(slot)) die(`exited with code ${code}`);
    });
    return slot;
  };
  const next = (): void => {
    for (const slot of slots) {
      if (slot.job || queue.length === 0) continue;
      const job = queue.shift()!;
      slot.job = job;
      // Transfer the bytes when the view owns its whole buffer (it then moves, not copies).
      slot.worker.postMessage(job.body, transferable(job.body));
    }
  };
  for (let i = 0; i < size; i++) slots.push(spawn());
  // Idle workers must not keep a process alive that has nothing else to do.
  for (const s of slots) s.worker.unref();

  return {
    score: (body) =>
      new Promise<ScoreReply>((resolve) => {
        if (closed) return resolve(reply(503, { error: "server is shutting down" }));
        queue.push({ body, resolve });
        next();
      }),
    pending: () => queue.length + slots.filter((s) => s.job).length,
    async close() {
      closed = true;
      const all = slots.splice(0);
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}

/**
 * A worker running score-worker.(ts|js) beside this file. Under tsx (a .ts source tree), the
 * worker registers tsx itself first: loader hooks registered in the main thread do not reach
 * worker threads.
 */
function newWorker(spec: ScorerSpec): Worker {
  const ts = import.meta.url.endsWith(".ts");
  const file = new URL(`./score-worker.${ts ? "ts" : "js"}`, import.meta.url);
  if (!ts) return new Worker(file, { workerData: spec });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(file.href)}))`;
  return new Worker(code, { eval: true, workerData: spec });
}
