/**
 * What both servers (reward, model) share about connections: request/headers timeouts and a
 * graceful close that loses no request already sent.
 *
 * closeGracefully(server):
 * 1. keeps the listener open for acceptGraceMs: connections the kernel has already completed
 *    wait in the listen backlog until the event loop accepts them, and closing the listener
 *    resets them, requests and all (seen under load, 2 cores at a load average of 9: seven
 *    requests sent 150-350 ms before SIGTERM were reset);
 * 2. then closes the listener with net.Server's close, not http.Server's: the latter also
 *    closes idle connections at once, and a connection whose request is still unread in its
 *    buffer (or fully read and waiting for its reply) looks idle;
 * 3. resolves when the last connection is gone: busy ones end after their reply (the servers
 *    send `Connection: close` while draining), and a connection is closed as idle only once
 *    it has had no request for acceptGraceMs (since its last reply or since it opened), for
 *    the same reason; whatever is left after drainTimeoutMs is force-closed.
 * Call trackIdle(server) when the server is created, so idle times are known at close.
 */
import type * as http from "node:http";
import * as net from "node:net";

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
export const DEFAULT_ACCEPT_GRACE_MS = 500;

export interface ConnectionOptions {
  /** A request whose body has not fully arrived this long after it began gets 408. Default 60 s. */
  requestTimeoutMs?: number;
  /** Headers not fully arrived this long after the connection began (or the last reply) get 408. Default 10 s. */
  headersTimeoutMs?: number;
  /** close() force-closes connections still open after this long. Default 30 s. */
  drainTimeoutMs?: number;
  /** close() keeps accepting this long first, so connections already in the backlog are served. Default 500 ms. */
  acceptGraceMs?: number;
}

/** http.createServer options for the timeouts (validated). */
export function timeoutOptions(opts: ConnectionOptions): http.ServerOptions {
  const requestTimeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout);
  for (const [k, v] of [
    ["requestTimeoutMs", requestTimeout],
    ["headersTimeoutMs", headersTimeout],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${k} must be a positive number of milliseconds, got ${v}`);
  }
  return {
    requestTimeout,
    headersTimeout,
    // Node checks both timeouts on this interval (default 30 s, which would add up to 30 s).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

/** Idle connections and since when (ms): busy ones are absent. */
export type IdleSockets = Map<net.Socket, number>;

export function trackIdle(server: http.Server): IdleSockets {
  const idle: IdleSockets = new Map();
  server.on("connection", (s: net.Socket) => {
    idle.set(s, Date.now());
    s.on("close", () => idle.delete(s));
  });
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const s = req.socket;
    idle.delete(s);
    res.on("finish", () => {
      if (!s.destroyed) idle.set(s, Date.now());
    });
  });
  return idle;
}

/** See the header. `closing` must already be set by the caller so replies carry Connection: close. */
export function closeGracefully(server: http.Server, idle: IdleSockets, opts: ConnectionOptions): Promise<void> {
  const drainTimeout = opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const acceptGrace = Math.min(opts.acceptGraceMs ?? DEFAULT_ACCEPT_GRACE_MS, drainTimeout);
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), drainTimeout);
    force.unref();
    const sweep = setInterval(
      () => {
        const now = Date.now();
        for (const [s, since] of idle) if (now - since >= acceptGrace) s.destroy();
      },
      Math.max(10, Math.min(100, acceptGrace)),
    );
    setTimeout(() => {
      net.Server.prototype.close.call(server, () => {
        clearTimeout(force);
        clearInterval(sweep);
        resolve();
      });
    }, acceptGrace).unref();
  });
}
