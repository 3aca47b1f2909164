/**
 * A minimal client for the reward server (node:http), used by the tests and the benchmark,
 * and handy for calling the server from a TypeScript trainer.
 */
import * as http from "node:http";

export interface RewardBody {
  query?: string[];
  responses?: string[];
  prompts: string[];
  labels: unknown[];
  [extra: string]: unknown;
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
}

/**
 * Sends one request. `body` is serialised with JSON.stringify unless it is already a string
 * or Buffer (so tests can send malformed JSON). Resolves with the status and the parsed JSON
 * body (the raw text when it is not JSON); rejects on network errors or after `timeoutMs`.
 */
export function request<T = unknown>(
  url: string,
  opts: {
    method?: string;
    path?: string;
    body?: unknown;
    agent?: http.Agent;
    headers?: Record<string, string>;
    timeoutMs?: number;
  } = {},
): Promise<HttpResult<T>> {
  const u = new URL(opts.path ?? "", url);
  const payload =
    opts.body === undefined
      ? undefined
      : typeof opts.body === "string" || Buffer.isBuffer(opts.body)
        ? opts.body
        : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? (payload === undefined ? "GET" : "POST"),
        agent: opts.agent,
        headers: {
          ...(payload !== undefined
            ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(payload)) }
            : {}),
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON: keep the text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${u.href} timed out`)));
    req.on("error", reject);
    req.end(payload);
  });
}

export interface RewardReply {
  rewards: number[];
  scores: number[];
  extra_logs: Record<string, number[]>;
  details: {
    correct: boolean[];
    accuracy: number;
    totalTokens: number;
    truncated: boolean;
    tokensPerProblem: number[];
    reward: { total: number; accuracy: number; length: number };
    group: number;
  }[];
}

/** POST /get_reward; throws with the server's message on a non-200 answer. */
export async function getRewards(url: string, body: RewardBody, agent?: http.Agent): Promise<RewardReply> {
  const r = await request<RewardReply & { error?: string }>(url, {
    path: "/get_reward",
    body,
    ...(agent ? { agent } : {}),
  });
  if (r.status !== 200)
    throw new Error(`reward server answered ${r.status}: ${r.body?.error ?? JSON.stringify(r.body)}`);
  return r.body;
}
