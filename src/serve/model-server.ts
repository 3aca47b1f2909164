/**
 * An OpenAI-compatible HTTP server for a local GPT + CharTokenizer, so the same evaluation code
 * (OpenAIModel) runs against our own models and against vLLM / SGLang / llama.cpp / Ollama.
 *
 * Endpoints
 *   GET  /health                 {"status":"ok"}
 *   GET  /v1/models              the one model this server holds
 *   POST /v1/completions         prompt (string or array of strings), max_tokens (default 16),
 *                                temperature, top_p, stop (string or array), seed, n (only 1)
 *   POST /v1/chat/completions    messages: the `user` contents joined by "\n" form the prompt
 *                                (system/assistant messages are ignored: the char model has no
 *                                chat format); same sampling fields
 * Responses carry `choices[i].finish_reason` ("stop" on EOS or a stop string, "length" at
 * max_tokens) and `usage` {prompt_tokens, completion_tokens, total_tokens}, exact counts of the
 * char tokenizer (completion_tokens includes the EOS / stop string, as vLLM counts).
 * The `model` field of a request is accepted whatever it says. `stream: true` is refused (400).
 *
 * Unknown characters: the char tokenizer knows a fixed alphabet. By default
 * (`unknownChars: "reject"`) a prompt with a character outside it gets HTTP 400 naming the
 * character and its position, so an evaluation records that item as failed instead of scoring a
 * silently altered problem. `unknownChars: {replace: "?"}` maps every unknown character to the
 * given (known) one instead, for natural-language smoke tests. A prompt longer than the context
 * window also gets 400.
 *
 * Micro-batching: items arriving within `batchWindowMs` (default 5 ms) of the first waiting one
 * (or until `maxBatch` are waiting) are sampled together in one LocalModel.complete call, i.e.
 * one GPT.generate per (temperature, top_p, seed) group. One batch runs at a time.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { LocalModel, type SamplingModel, type TokenizerLike } from "../model/local-model.js";
import type { Completion, CompletionRequest } from "../model/completion.js";

export interface ModelServerOptions {
  model: SamplingModel;
  tokenizer: TokenizerLike;
  /** Model id reported by /v1/models and in responses (default "bcr-local"). */
  name?: string;
  port?: number;          // default 8000; 0 picks a free port
  host?: string;          // default 127.0.0.1
  batchWindowMs?: number; // default 5
  maxBatch?: number;      // default 32
  unknownChars?: "reject" | { replace: string };
  /** Prepend BOS to prompts (default true, as in training). */
  addBos?: boolean;
  /** Seed for requests that give none (default 0). */
  seed?: number;
  /** Largest accepted request body in bytes (default 4 MiB). */
  maxBodyBytes?: number;
}

export interface ModelServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** url + "/v1": what OpenAIModel takes as baseUrl. */
  baseUrl: string;
  port: number;
  /** Requests served, batches run, and items per batch (for tests and logs). */
  stats: { requests: number; batches: number; items: number; maxBatchSeen: number };
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly param?: string) {
    super(message);
  }
}

interface Pending { req: CompletionRequest; resolve: (c: Completion) => void; reject: (e: Error) => void }

export async function startModelServer(opts: ModelServerOptions): Promise<ModelServer> {
  const name = opts.name ?? "bcr-local";
  const local = new LocalModel({
    model: opts.model, tokenizer: opts.tokenizer, name, addBos: opts.addBos, seed: opts.seed,
    maxBatch: opts.maxBatch ?? 32,
  });
  const blockSize = opts.model.config.blockSize;
  const windowMs = opts.batchWindowMs ?? 5;
  const maxBatch = opts.maxBatch ?? 32;
  const maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const stats = { requests: 0, batches: 0, items: 0, maxBatchSeen: 0 };
  const mapChars = makeCharMapper(opts.tokenizer, opts.unknownChars ?? "reject");

  // ---- micro-batching queue ----
  let queue: Pending[] = [];
  let timer: NodeJS.Timeout | null = null;
  let running = false;

  const flush = async (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (running || queue.length === 0) return;
    running = true;
    const batch = queue.splice(0, maxBatch);
    stats.batches++;
    stats.items += batch.length;
    stats.maxBatchSeen = Math.max(stats.maxBatchSeen, batch.length);
    try {
      const results = await local.complete(batch.map((p) => p.req));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (e) {
      batch.forEach((p) => p.reject(e as Error));
    } finally {
      running = false;
      if (queue.length > 0) schedule();
    }
  };
  const schedule = (): void => {
    if (queue.length >= maxBatch) void flush();
    else if (!timer) timer = setTimeout(() => void flush(), windowMs);
  };
  const submit = (req: CompletionRequest): Promise<Completion> =>
    new Promise((resolve, reject) => {
      queue.push({ req, resolve, reject });
      schedule();
    });

  // ---- request handling ----
  const prepare = (prompt: string, index: number): string => {
    const text = mapChars(prompt, index);
    const len = local.encodePrompt(text).length;
    if (len >= blockSize) {
      throw new HttpError(400, `prompt ${index} is ${len} tokens; the model's context window is ${blockSize}`, "prompt");
    }
    return text;
  };

  const handleCompletion = async (body: Record<string, unknown>, chat: boolean) => {
    if (body.stream === true) throw new HttpError(400, "streaming is not supported", "stream");
    if (body.n !== undefined && body.n !== 1) throw new HttpError(400, "only n=1 is supported", "n");
    const prompts = chat ? [chatPrompt(body.messages)] : promptList(body.prompt);
    const sampling = parseSampling(body);
    const reqs = prompts.map((p, i) => ({ ...sampling, prompt: prepare(p, i) }));
    const results = await Promise.all(reqs.map(submit));
    const failed = results.find((r) => r.finishReason === "error");
    if (failed) throw new HttpError(500, failed.error ?? "generation failed");
    const promptTokens = results.reduce((s, r) => s + (r.promptTokens ?? 0), 0);
    const completionTokens = results.reduce((s, r) => s + r.completionTokens, 0);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const created = Math.floor(Date.now() / 1000);
    const id = `${chat ? "chatcmpl" : "cmpl"}-${stats.requests}`;
    if (chat) {
      const r = results[0]!;
      return {
        id, object: "chat.completion", created, model: name, usage,
        choices: [{ index: 0, message: { role: "assistant", content: r.text }, finish_reason: r.finishReason, logprobs: null }],
      };
    }
    return {
      id, object: "text_completion", created, model: name, usage,
      choices: results.map((r, index) => ({ index, text: r.text, finish_reason: r.finishReason, logprobs: null })),
    };
  };

  const route = async (req: http.IncomingMessage): Promise<{ status: number; body: unknown }> => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname.replace(/\/+$/, "");
    if (p === "/health") return { status: 200, body: { status: "ok" } };
    if (p === "/v1/models" && req.method === "GET") {
      return { status: 200, body: { object: "list", data: [{ id: name, object: "model", created: 0, owned_by: "bcr", max_model_len: blockSize }] } };
    }
    if (p === "/v1/completions" || p === "/v1/chat/completions") {
      if (req.method !== "POST") throw new HttpError(405, `${p} takes POST`);
      const body = await readJson(req, maxBody);
      return { status: 200, body: await handleCompletion(body, p === "/v1/chat/completions") };
    }
    throw new HttpError(404, `no route ${req.method} ${p}`);
  };

  const server = http.createServer((req, res) => {
    stats.requests++;
    route(req).then(
      ({ status, body }) => send(res, status, body),
      (e: Error) => {
        const status = e instanceof HttpError ? e.status : 500;
        const type = status === 400 ? "invalid_request_error" : status === 404 ? "not_found_error" : "server_error";
        send(res, status, { error: { message: e.message, type, param: (e as HttpError).param ?? null, code: status } });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8000, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  return {
    url, baseUrl: `${url}/v1`, port: addr.port, stats,
    close: () => new Promise<void>((resolve) => {
      if (timer) clearTimeout(timer);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

async function readJson(req: http.IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `request body over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "request body must be a JSON object");
  return body as Record<string, unknown>;
}

function promptList(prompt: unknown): string[] {
  if (typeof prompt === "string") return [prompt];
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === "string")) return prompt as string[];
  throw new HttpError(400, "prompt must be a string or a non-empty array of strings (token-id prompts are not supported)", "prompt");
}

function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0) throw new HttpError(400, "messages must be a non-empty array", "messages");
  const parts: string[] = [];
  messages.forEach((m, i) => {
    if (typeof m !== "object" || m === null || typeof (m as { role?: unknown }).role !== "string") {
      throw new HttpError(400, `messages[${i}] must be an object with a string role`, "messages");
    }
    const { role, content } = m as { role: string; content?: unknown };
    if (role !== "user") return;
    if (typeof content === "string") parts.push(content);
    else if (Array.isArray(content)) {
      for (const c of content) {
        if (c && typeof c === "object" && (c as { type?: unknown }).type === "text" && typeof (c as { text?: unknown }).text === "string") {
          parts.push((c as { text: string }).text);
        } else throw new HttpError(400, `messages[${i}].content: only text parts are supported`, "messages");
      }
    } else throw new HttpError(400, `messages[${i}].content must be a string or an array of text parts`, "messages");
  });
  if (parts.length === 0) throw new HttpError(400, "messages hold no user content", "messages");
  return parts.join("\n");
}

function parseSampling(body: Record<string, unknown>): Omit<CompletionRequest, "prompt"> {
  const num = (k: string, ok: (v: number) => boolean, what: string): number | undefined => {
    const v = body[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw new HttpError(400, `${k} must be ${what}`, k);
    return v;
  };
  const maxTokens = num("max_tokens", (v) => Number.isInteger(v) && v >= 1, "a positive integer")
    ?? num("max_completion_tokens", (v) => Number.isInteger(v) && v >= 1, "a positive integer") ?? 16;
  const temperature = num("temperature", (v) => v >= 0, "a number >= 0");
  const topP = num("top_p", (v) => v > 0 && v <= 1, "a number in (0, 1]");
  const seed = num("seed", Number.isInteger, "an integer");
  let stop: string[] | undefined;
  if (typeof body.stop === "string") stop = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.every((s) => typeof s === "string")) stop = body.stop as string[];
  else if (body.stop !== undefined && body.stop !== null) throw new HttpError(400, "stop must be a string or an array of strings", "stop");
  const out: Omit<CompletionRequest, "prompt"> = { maxTokens };
  if (temperature !== undefined) out.temperature = temperature;
  if (topP !== undefined) out.topP = topP;
  if (seed !== undefined) out.seed = seed;
  if (stop) out.stop = stop;
  return out;
}

/** Checks (reject) or maps (replace) characters the tokenizer cannot encode. */
function makeCharMapper(tok: TokenizerLike, mode: "reject" | { replace: string }): (s: string, index: number) => string {
  const known = new Map<string, boolean>();
  const isKnown = (c: string): boolean => {
    let k = known.get(c);
    if (k === undefined) {
      try {
        tok.encode(c);
        k = true;
      } catch {
        k = false;
      }
      known.set(c, k);
    }
    return k;
  };
  if (mode !== "reject" && !isKnown(mode.replace)) throw new Error(`unknownChars.replace: ${JSON.stringify(mode.replace)} is not in the vocabulary`);
  return (s, index) => {
    let out = "";
    let pos = 0;
    for (const c of s) {
      if (isKnown(c)) out += c;
      else if (mode === "reject") {
        throw new HttpError(400, `prompt ${index}: character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}) at position ${pos} is not in the model's vocabulary`, "prompt");
      } else out += mode.replace;
      pos++;
    }
    return out;
  };
}
