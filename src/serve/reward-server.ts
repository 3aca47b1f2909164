/**
 * The BCR reward server: OpenRLHF's remote reward-model protocol over plain node:http.
 *
 *   POST /get_reward (or POST /)   score a batch (wire format: reward-protocol.ts)
 *   GET  /health                   200 JSON once listening; 503 while shutting down
 *
 * Errors are JSON `{"error": message}`: 400 malformed JSON / missing or mistyped fields /
 * mismatched lengths / bad labels / a query without its prompt, 404 unknown path, 405 wrong
 * method (with Allow), 408 a body or headers not received within the timeouts, 413 body over
 * the byte limit or more items than the item cap (maxItems, --max-items: the message names
 * both numbers), 500 for a bug (e.g. a shaping producing a non-finite reward), never a crash.
 *
 * Scoring runs in worker threads (score-pool.ts): the event loop only moves bytes, so
 * /health and every other request are answered while the largest body is being scored. The
 * reply is about 180 bytes per item (mostly `details`) and 25 per problem, so the item cap and
 * the problem cap (16 per item, reward-protocol.ts) bound it: ~12 MB at 65,536 one-problem
 * items, under 40 MB at worst. The worker encodes it; the event loop writes it in chunks,
 * each once the socket has taken the last.
 *
 * Shutdown (`close()`, http-drain.ts): accept for acceptGraceMs more (connections already in
 * the kernel's backlog), then stop accepting; answer every request received, each with
 * `Connection: close`; resolve when the last connection is gone (force-closing after
 * drainTimeoutMs). Timeouts (requestTimeoutMs, headersTimeoutMs) answer stalled clients 408.
 */
import { constants as bufferConstants } from "node:buffer";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import type { TemplateName } from "../bcr/types.js";
import { makeShaping, type RewardShaping } from "../rewards/index.js";
import type { ScorerConfig } from "./reward-scorer.js";
import {
  closeGracefully,
  timeoutOptions,
  trackIdle,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type ConnectionOptions,
} from "./http-drain.js";
import { scoreBody, startScorePool, type BodyScorer, type ScorePool, type ScoreReply } from "./score-pool.js";
import { DEFAULT_MAX_ITEMS } from "./reward-protocol.js";
import { makeTokenCounter, type TokenCounterName } from "../bcr/tokens.js";

export interface RewardServerOptions extends ConnectionOptions {
  /** Default 127.0.0.1 (loopback only); 0.0.0.0 to serve a cluster. */
  host?: string;
  /** Default 0: a free port, read it back from `server.port`. */
  port?: number;
  /** A name from SHAPINGS (default "accuracy": the BCR reward) or a ready RewardShaping. */
  shaping?: string | RewardShaping;
  params?: Record<string, number>;
  /** Default "natural" (real models). */
  template?: TemplateName;
  /** The shared response budget in tokens, for length-aware shapings. Default 5120. */
  maxLength?: number;
  /** Token counter for response lengths: a name or a function. Default "estimate". */
  counter?: TokenCounterName | ((text: string) => number);
  targetLength?: number;
  totalSteps?: number;
  /** Request body limit in bytes (413 above). Default 64 MiB. */
  maxBodyBytes?: number;
  /** Items per request (413 above, naming the cap). Default DEFAULT_MAX_ITEMS (65,536). */
  maxItems?: number;
  /** One line per request; null for quiet. Default: stdout. */
  log?: ((line: string) => void) | null;
  /**
   * Worker threads that parse and score (default: min(4, cores)); 0 scores on the event loop
   * (then a large request blocks every other one). A custom shaping object or counter function
   * always scores on the event loop: functions cannot be sent to a worker.
   */
  scoreWorkers?: number;
}

export interface RewardServerStats {
  requests: number;
  items: number;
  errors: number;
  inFlight: number;
  /** Bytes of request bodies received and held right now (0 once every body is scored or dropped). */
  bodyBytes: number;
}

export interface RewardServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly shaping: RewardShaping;
  /** Worker threads scoring (0: on the event loop). */
  readonly scoreWorkers: number;
  /** Items per request accepted (413 above). */
  readonly maxItems: number;
  /** Body bytes per request accepted (413 above). */
  readonly maxBodyBytes: number;
  stats(): RewardServerStats;
  /** Graceful shutdown; idempotent (every call returns the same promise). */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** The largest body limit: a body must decode into one JavaScript string. */
export const MAX_BODY_BYTES_LIMIT = bufferConstants.MAX_STRING_LENGTH;
export { DEFAULT_MAX_ITEMS };
/** Reply bytes written per socket write (the next waits for 'drain' when the socket is full). */
const REPLY_CHUNK_BYTES = 256 * 1024;
export { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS };

export async function startRewardServer(opts: RewardServerOptions = {}): Promise<RewardServer> {
  const custom = typeof opts.shaping === "object" || typeof opts.counter === "function";
  const shaping =
    typeof opts.shaping === "object" ? opts.shaping : makeShaping(opts.shaping ?? "accuracy", opts.params ?? {});
  const maxLength = opts.maxLength ?? 5120;
  if (!(Number.isInteger(maxLength) && maxLength > 0))
    throw new Error(`maxLength must be a positive integer, got ${maxLength}`);
  const counter = opts.counter ?? "estimate";
  const template = opts.template ?? "natural";
  const cfg: ScorerConfig = {
    shaping,
    template,
    maxLength,
    countTokens: typeof counter === "function" ? counter : makeTokenCounter(counter),
  };
  if (opts.targetLength !== undefined) cfg.targetLength = opts.targetLength;
  if (opts.totalSteps !== undefined) cfg.totalSteps = opts.totalSteps;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!(Number.isInteger(maxBody) && maxBody >= 1 && maxBody <= MAX_BODY_BYTES_LIMIT))
    throw new Error(`maxBodyBytes must be an integer from 1 to ${MAX_BODY_BYTES_LIMIT}, got ${maxBody}`);
  const maxItems = opts.maxItems ?? DEFAULT_MAX_ITEMS;
  if (!(Number.isInteger(maxItems) && maxItems >= 1))
    throw new Error(`maxItems must be a positive integer, got ${maxItems}`);
  const bodyScorer: BodyScorer = { ...cfg, maxItems };
  const workers = custom ? 0 : (opts.scoreWorkers ?? Math.min(4, os.availableParallelism()));
  if (!(Number.isInteger(workers) && workers >= 0))
    throw new Error(`scoreWorkers must be a non-negative integer, got ${workers}`);
  const pool: ScorePool | null =
    workers > 0
      ? startScorePool(
          {
            shaping: shaping.name,
            params: shaping.params,
            template,
            maxLength,
            counter: counter as TokenCounterName,
            maxItems,
            ...(opts.targetLength !== undefined ? { targetLength: opts.targetLength } : {}),
            ...(opts.totalSteps !== undefined ? { totalSteps: opts.totalSteps } : {}),
          },
          workers,
        )
      : null;
  const score = (body: Uint8Array): Promise<ScoreReply> =>
    pool ? pool.score(body) : Promise.resolve(scoreBody(body, bodyScorer));
  const log = opts.log === undefined ? (line: string) => process.stdout.write(line + "\n") : opts.log;
  const started = Date.now();
  const stats: RewardServerStats = { requests: 0, items: 0, errors: 0, inFlight: 0, bodyBytes: 0 };
  let closing = false;

  const server = http.createServer(timeoutOptions(opts), (req, res) => {
    const t0 = performance.now();
    stats.requests++;
    stats.inFlight++;
    let items = 0;
    res.on("close", () => {
      stats.inFlight--;
      if (res.statusCode >= 400) stats.errors++;
      log?.(
        `${new Date().toISOString()} ${req.method} ${req.url} ${res.statusCode} items=${items} ${(performance.now() - t0).toFixed(1)}ms`,
      );
    });
    req.on("error", () => {
      /* client went away; res 'close' still fires */
    });
    handle(req, res, (n) => {
      items = n;
    }).catch((e: unknown) => {
      send(res, 500, { error: `internal error: ${(e as Error).message}` });
    });
  });

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    setItems: (n: number) => void,
  ): Promise<void> {
    // During the drain every answer ends its connection: the client's next request must go
    // to a new connection, which the closed listener refuses.
    if (closing) res.setHeader("Connection", "close");
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";
    if (path === "/health") {
      if (req.method !== "GET" && req.method !== "HEAD") return notAllowed(res, "GET, HEAD");
      return send(res, closing ? 503 : 200, {
        status: closing ? "shutting down" : "ok",
        shaping: { name: shaping.name, params: shaping.params },
        template,
        maxLength,
        counter: typeof counter === "function" ? "custom" : counter,
        score_workers: workers,
        max_items: maxItems,
        max_body_bytes: maxBody,
        uptime_s: (Date.now() - started) / 1000,
        requests: stats.requests,
        items: stats.items,
        in_flight: stats.inFlight,
      });
    }
    if (path !== "/get_reward" && path !== "/") return send(res, 404, { error: `no route ${path}; POST /get_reward` });
    if (req.method !== "POST") return notAllowed(res, "POST");

    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBody) return tooLarge(req, res);
    const body = await readBody(req, maxBody, stats);
    if (body === "aborted") return; // nothing to answer: the connection is gone
    if (body === null) return tooLarge(req, res);
    const size = body.byteLength; // read now: handing the bytes to a worker detaches them
    let r: ScoreReply;
    try {
      r = await score(body);
    } finally {
      stats.bodyBytes -= size;
    }
    setItems(r.items);
    if (r.status === 200) stats.items += r.items;
    if (closing) res.setHeader("Connection", "close");
    await sendBytes(res, r.status, r.body);
  }

  function tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Close the connection after answering: the unread rest of the body must not be taken
    // for the next request on a kept-alive socket.
    res.setHeader("Connection", "close");
    send(res, 413, { error: `request body over the limit of ${maxBody} bytes (--max-body-mb)` });
    req.resume();
  }

  const idle = trackIdle(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => log?.(`reward server error: ${e.message}`));
  const address = server.address() as AddressInfo;
  const host = address.address;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closed: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${address.port}`,
    host,
    port: address.port,
    shaping,
    scoreWorkers: workers,
    maxItems,
    maxBodyBytes: maxBody,
    stats: () => ({ ...stats }),
    close() {
      if (closed) return closed;
      closing = true;
      closed = closeGracefully(server, idle, opts).then(() => pool?.close());
      return closed;
    },
  };
}

/**
 * The body, null once it passes `limit` bytes (the rest is left unread), or "aborted" when the
 * client goes away first. Bytes held are counted in stats.bodyBytes while they are held; an
 * aborted or oversized body drops its chunks at once (six stalled 60 MB uploads otherwise stay
 * in memory until the request is collected).
 */
function readBody(
  req: http.IncomingMessage,
  limit: number,
  stats: { bodyBytes: number },
): Promise<Uint8Array | null | "aborted"> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: Uint8Array | null | "aborted", keep: number) => {
      if (done) return;
      done = true;
      stats.bodyBytes -= size - keep;
      chunks = [];
      req.off("data", onData);
      resolve(result);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      stats.bodyBytes += c.length;
      if (size > limit) return finish(null, 0);
      chunks.push(c);
    };
    req.on("data", onData);
    req.on("end", () => {
      if (done) return;
      // One buffer that owns its memory, so the scoring worker can take it without a copy
      // (not zero-filled first: every byte is written below).
      const body = new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.length;
      }
      finish(body, size);
    });
    req.on("close", () => {
      if (!req.complete) finish("aborted", 0);
    });
    req.on("error", () => finish("aborted", 0));
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body));
}

function sendText(res: http.ServerResponse, status: number, data: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

/**
 * Writes a reply's bytes in REPLY_CHUNK_BYTES pieces, each after the socket has taken the last
 * (a multi-megabyte reply never occupies the event loop in one piece, and a slow client holds
 * only the reply it was sent, not copies of it). Resolves when all is handed to the socket or
 * the connection is gone.
 */
async function sendBytes(res: http.ServerResponse, status: number, data: Uint8Array): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": data.byteLength });
  for (let at = 0; at < data.byteLength; at += REPLY_CHUNK_BYTES) {
    if (res.destroyed) return;
    if (!res.write(data.subarray(at, at + REPLY_CHUNK_BYTES))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  if (!res.destroyed) res.end();
}

function notAllowed(res: http.ServerResponse, allow: string): void {
  res.setHeader("Allow", allow);
  send(res, 405, { error: `method not allowed; use ${allow}` });
}
