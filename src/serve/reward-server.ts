/**
 * The BCR reward server: OpenRLHF's remote reward-model protocol over plain node:http.
 *
 *   POST /get_reward (or POST /)   score a batch (wire format: reward-protocol.ts)
 *   GET  /health                   200 JSON once listening; 503 while shutting down
 *
 * Errors are JSON `{"error": message}`: 400 malformed JSON / missing or mistyped fields /
 * mismatched lengths / bad labels / a query without its prompt, 404 unknown path, 405 wrong
 * method (with Allow), 413 body over the limit, 503 while draining, 500 for a bug (e.g. a
 * shaping producing a non-finite reward), never a crash.
 *
 * Shutdown (`close()`): stop accepting connections, answer requests already being read or
 * scored, refuse (503, Connection: close) anything new on a kept-alive socket, close idle
 * sockets, resolve when the last connection is gone (force-closing after drainTimeoutMs).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { TemplateName } from "../bcr/types.js";
import { makeShaping, type RewardShaping } from "../rewards/index.js";
import { parseRewardRequest, RequestError } from "./reward-protocol.js";
import { scoreBatch, type ScorerConfig } from "./reward-scorer.js";
import { makeTokenCounter, type TokenCounterName } from "../bcr/tokens.js";

export interface RewardServerOptions {
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
  /** One line per request; null for quiet. Default: stdout. */
  log?: ((line: string) => void) | null;
  /** close() force-closes connections still open after this long. Default 30 s. */
  drainTimeoutMs?: number;
}

export interface RewardServerStats { requests: number; items: number; errors: number; inFlight: number }

export interface RewardServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly shaping: RewardShaping;
  stats(): RewardServerStats;
  /** Graceful shutdown; idempotent (every call returns the same promise). */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function startRewardServer(opts: RewardServerOptions = {}): Promise<RewardServer> {
  const shaping = typeof opts.shaping === "object"
    ? opts.shaping
    : makeShaping(opts.shaping ?? "accuracy", opts.params ?? {});
  const maxLength = opts.maxLength ?? 5120;
  if (!(Number.isInteger(maxLength) && maxLength > 0)) throw new Error(`maxLength must be a positive integer, got ${maxLength}`);
  const counter = opts.counter ?? "estimate";
  const cfg: ScorerConfig = {
    shaping,
    template: opts.template ?? "natural",
    maxLength,
    countTokens: typeof counter === "function" ? counter : makeTokenCounter(counter),
  };
  if (opts.targetLength !== undefined) cfg.targetLength = opts.targetLength;
  if (opts.totalSteps !== undefined) cfg.totalSteps = opts.totalSteps;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = opts.log === undefined ? (line: string) => process.stdout.write(line + "\n") : opts.log;
  const started = Date.now();
  const stats: RewardServerStats = { requests: 0, items: 0, errors: 0, inFlight: 0 };
  let closing = false;

  const server = http.createServer((req, res) => {
    const t0 = performance.now();
    stats.requests++;
    stats.inFlight++;
    let items = 0;
    res.on("close", () => {
      stats.inFlight--;
      if (res.statusCode >= 400) stats.errors++;
      log?.(`${new Date().toISOString()} ${req.method} ${req.url} ${res.statusCode} items=${items} ${(performance.now() - t0).toFixed(1)}ms`);
      if (closing && stats.inFlight === 0) server.closeIdleConnections();
    });
    req.on("error", () => { /* client went away; res 'close' still fires */ });
    handle(req, res, (n) => { items = n; }).catch((e: unknown) => {
      send(res, 500, { error: `internal error: ${(e as Error).message}` });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, setItems: (n: number) => void): Promise<void> {
    if (closing) {
      res.setHeader("Connection", "close");
      return send(res, 503, { error: "server is shutting down" });
    }
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";
    if (path === "/health") {
      if (req.method !== "GET" && req.method !== "HEAD") return notAllowed(res, "GET, HEAD");
      return send(res, 200, {
        status: "ok", shaping: { name: shaping.name, params: shaping.params }, template: cfg.template,
        maxLength: cfg.maxLength, counter: typeof counter === "function" ? "custom" : counter,
        uptime_s: (Date.now() - started) / 1000, requests: stats.requests, items: stats.items, in_flight: stats.inFlight,
      });
    }
    if (path !== "/get_reward" && path !== "/") return send(res, 404, { error: `no route ${path}; POST /get_reward` });
    if (req.method !== "POST") return notAllowed(res, "POST");

    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBody) return tooLarge(req, res);
    const body = await readBody(req, maxBody);
    if (body === null) return tooLarge(req, res);

    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch (e) {
      return send(res, 400, { error: `malformed JSON: ${(e as Error).message}` });
    }
    try {
      const request = parseRewardRequest(parsed);
      setItems(request.items.length);
      const result = scoreBatch(request, cfg);
      const bad = result.rewards.findIndex((r) => !Number.isFinite(r));
      if (bad >= 0) throw new Error(`shaping '${shaping.name}' gave a non-finite reward for item ${bad}`);
      stats.items += request.items.length;
      if (closing) res.setHeader("Connection", "close");
      send(res, 200, result);
    } catch (e) {
      if (e instanceof RequestError) return send(res, e.status, { error: e.message });
      throw e;
    }
  }

  function tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Close the connection after answering: the unread rest of the body must not be taken
    // for the next request on a kept-alive socket.
    res.setHeader("Connection", "close");
    send(res, 413, { error: `request body over the limit of ${maxBody} bytes` });
    req.resume();
  }

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
    stats: () => ({ ...stats }),
    close() {
      if (closed) return closed;
      closing = true;
      closed = new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), opts.drainTimeoutMs ?? 30_000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

/** The body, or null once it passes `limit` bytes (the rest is left unread). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        over = true;
        req.off("data", onData);
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.on("end", () => { if (!over) resolve(Buffer.concat(chunks, size)); });
    req.on("error", reject);
    req.on("aborted", () => reject(new Error("client aborted the request")));
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

function notAllowed(res: http.ServerResponse, allow: string): void {
  res.setHeader("Allow", allow);
  send(res, 405, { error: `method not allowed; use ${allow}` });
}
