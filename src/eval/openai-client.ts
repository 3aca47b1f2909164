/**
 * A CompletionModel for any OpenAI-compatible endpoint (vLLM, SGLang, llama.cpp server,
 * Ollama, or our own `bcr serve-model`).
 *
 * Settings come from the options, else the environment:
 *   OPENAI_BASE_URL  base URL including the version prefix, e.g. http://127.0.0.1:8000/v1
 *                    (default http://127.0.0.1:8000/v1)
 *   OPENAI_MODEL     model name sent in each request (default: the first id GET /models lists)
 *   OPENAI_API_KEY   sent as `Authorization: Bearer <key>` when set
 *
 * Behaviour:
 * - `mode: "completions"` posts to /completions with `prompt`; `mode: "chat"` posts to
 *   /chat/completions with one user message holding the prompt.
 * - At most `concurrency` requests are in flight (a semaphore shared by all calls).
 * - Retried: HTTP 408/409/425/429/5xx, timeouts (`timeoutMs` per attempt, via AbortController),
 *   connection errors and unparseable bodies. Delay before retry k (k = 0, 1, ...) is
 *   min(maxDelayMs, initialDelayMs * 2^k) scaled by a random factor in [0.5, 1] (jitter), or
 *   the server's Retry-After when that is longer (also capped at maxDelayMs). Other 4xx are not
 *   retried (the request itself is wrong).
 * - An item that still fails after `maxRetries` retries comes back as
 *   `finishReason: "error"` with the last error message; `complete` never throws for one item.
 *   Only an abort through `opts.signal` rejects the whole call.
 * - Token counts come from `usage.completion_tokens`; when the endpoint omits it the count is
 *   estimateTokens (src/bcr/tokens.ts) of the returned text and `tokensEstimated` is true.
 */
import { Rng } from "../util/rng.js";
import { Semaphore } from "./semaphore.js";
import { estimateTokens } from "../bcr/tokens.js";
import {
  errorCompletion,
  type Completion,
  type CompletionModel,
  type CompletionRequest,
  type FinishReason,
} from "../model/completion.js";

export interface OpenAIModelOptions {
  baseUrl?: string;
  model?: string;
  apiKey?: string;
  mode?: "completions" | "chat";
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Retries after the first attempt (default 4). */
  maxRetries?: number;
  /** Per-attempt timeout in ms (default 120000). */
  timeoutMs?: number;
  /** First backoff delay in ms (default 500). */
  initialDelayMs?: number;
  /** Cap on any single delay, Retry-After included (default 30000). */
  maxDelayMs?: number;
  /** Extra fields merged into every request body (e.g. {top_k: 20}). */
  extraBody?: Record<string, unknown>;
  /** Seed for the backoff jitter (default 0). */
  seed?: number;
  /** Environment to read defaults from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Statistics of the client's traffic, for logs and tests. */
export interface ClientStats {
  requests: number; // HTTP attempts made
  retries: number; // attempts that were retries
  failures: number; // items returned as errors
  maxInFlight: number; // highest concurrency seen
  backoffMs: number; // total delay scheduled between retries (Retry-After included, after the cap)
}

class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const RETRY_STATUS = new Set([408, 409, 425, 429]);

export class OpenAIModel implements CompletionModel {
  readonly baseUrl: string;
  readonly mode: "completions" | "chat";
  readonly stats: ClientStats = { requests: 0, retries: 0, failures: 0, maxInFlight: 0, backoffMs: 0 };
  private modelId: string | undefined;
  private readonly apiKey: string | undefined;
  private readonly sem: Semaphore;
  private readonly maxRetries: number;
  private readonly timeoutMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly extraBody: Record<string, unknown>;
  private readonly rng: Rng;
  private inFlight = 0;

  constructor(opts: OpenAIModelOptions = {}) {
    const env = opts.env ?? process.env;
    this.baseUrl = (opts.baseUrl ?? env.OPENAI_BASE_URL ?? "http://127.0.0.1:8000/v1").replace(/\/+$/, "");
    this.modelId = opts.model ?? env.OPENAI_MODEL ?? undefined;
    this.apiKey = opts.apiKey ?? env.OPENAI_API_KEY ?? undefined;
    this.mode = opts.mode ?? "completions";
    this.sem = new Semaphore(opts.concurrency ?? 8);
    this.maxRetries = opts.maxRetries ?? 4;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.initialDelayMs = opts.initialDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.extraBody = opts.extraBody ?? {};
    this.rng = new Rng(opts.seed ?? 0);
  }

  /** "openai:<model>" once the model id is known (after the first call when it is discovered). */
  get name(): string {
    return `openai:${this.modelId ?? "?"}`;
  }

  /** The model id: the configured one, else the first one GET /models lists. */
  async resolveModel(signal?: AbortSignal): Promise<string> {
    if (this.modelId) return this.modelId;
    const res = await fetch(`${this.baseUrl}/models`, { headers: this.headers(), signal });
    if (!res.ok) throw new Error(`GET ${this.baseUrl}/models: HTTP ${res.status}`);
    const body = (await res.json()) as { data?: { id?: string }[] };
    const id = body.data?.[0]?.id;
    if (!id) throw new Error(`GET ${this.baseUrl}/models listed no model; set OPENAI_MODEL`);
    this.modelId = id;
    return id;
  }

  async complete(requests: CompletionRequest[], opts: { signal?: AbortSignal } = {}): Promise<Completion[]> {
    const model = await this.resolveModel(opts.signal);
    return Promise.all(requests.map((r) => this.sem.run(() => this.completeOne(model, r, opts.signal))));
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json" };
    if (this.apiKey) h.authorization = `Bearer ${this.apiKey}`;
    return h;
  }

  private body(model: string, r: CompletionRequest): Record<string, unknown> {
    const b: Record<string, unknown> = { model, max_tokens: r.maxTokens, n: 1, ...this.extraBody };
    if (this.mode === "chat") b.messages = [{ role: "user", content: r.prompt }];
    else b.prompt = r.prompt;
    if (r.temperature !== undefined) b.temperature = r.temperature;
    if (r.topP !== undefined) b.top_p = r.topP;
    if (r.stop?.length) b.stop = r.stop;
    if (r.seed !== undefined) b.seed = r.seed;
    return b;
  }

  private async completeOne(model: string, r: CompletionRequest, signal?: AbortSignal): Promise<Completion> {
    const url = `${this.baseUrl}/${this.mode === "chat" ? "chat/completions" : "completions"}`;
    const payload = JSON.stringify(this.body(model, r));
    let lastError = "no attempt made";
    for (let attempt = 0; attempt <= this.maxRetries; attempt++) {
      signal?.throwIfAborted();
      if (attempt > 0) this.stats.retries++;
      try {
        return await this.attempt(url, payload, signal);
      } catch (e) {
        signal?.throwIfAborted();
        if (!(e instanceof RetryableError)) {
          lastError = (e as Error).message;
          break;
        }
        lastError = e.message;
        if (attempt === this.maxRetries) break;
        const backoff = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** attempt) * (0.5 + 0.5 * this.rng.next());
        const delay = Math.min(this.maxDelayMs, Math.max(backoff, e.retryAfterMs ?? 0));
        this.stats.backoffMs += delay;
        await sleep(delay, signal);
      }
    }
    this.stats.failures++;
    return errorCompletion(`${url}: ${lastError}`);
  }

  /** One HTTP attempt; throws RetryableError for transient failures, Error for permanent ones. */
  private async attempt(url: string, payload: string, signal?: AbortSignal): Promise<Completion> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error("timeout")), this.timeoutMs);
    const onAbort = () => ctl.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    this.stats.requests++;
    this.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
    try {
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, { method: "POST", headers: this.headers(), body: payload, signal: ctl.signal });
        text = await res.text();
      } catch (e) {
        if (signal?.aborted) throw e;
        if (ctl.signal.aborted) throw new RetryableError(`timed out after ${this.timeoutMs} ms`);
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new RetryableError(`connection error: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
      }
      if (!res.ok) {
        const msg = `HTTP ${res.status}: ${text.slice(0, 300)}`;
        if (RETRY_STATUS.has(res.status) || res.status >= 500) {
          throw new RetryableError(msg, parseRetryAfter(res.headers.get("retry-after")));
        }
        throw new Error(msg);
      }
      return this.parse(text);
    } finally {
      this.inFlight--;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private parse(text: string): Completion {
    let body: {
      choices?: { text?: string; message?: { content?: string | null }; finish_reason?: string | null }[];
      usage?: { completion_tokens?: number; prompt_tokens?: number };
    };
    try {
      body = JSON.parse(text);
    } catch {
      throw new RetryableError(`malformed response body: ${text.slice(0, 120)}`);
    }
    const choice = body?.choices?.[0];
    const out = this.mode === "chat" ? choice?.message?.content : choice?.text;
    if (!choice || (typeof out !== "string" && out !== null)) {
      throw new RetryableError(`response has no choices[0].${this.mode === "chat" ? "message.content" : "text"}`);
    }
    const content = out ?? "";
    const reported = body.usage?.completion_tokens;
    const exact = typeof reported === "number" && Number.isFinite(reported);
    const c: Completion = {
      text: content,
      completionTokens: exact ? reported : estimateTokens(content),
      finishReason: mapFinish(choice.finish_reason),
      tokensEstimated: !exact,
    };
    if (typeof body.usage?.prompt_tokens === "number") c.promptTokens = body.usage.prompt_tokens;
    return c;
  }
}

function mapFinish(reason: string | null | undefined): FinishReason {
  return reason === "length" ? "length" : "stop";
}

/** Retry-After as delta-seconds or an HTTP date -> milliseconds (undefined when absent/invalid). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
