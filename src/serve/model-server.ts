/**
 * An OpenAI-compatible HTTP server for a local GPT + CharTokenizer, so the same evaluation code
 * (OpenAIModel) runs against our own models and against vLLM / SGLang / llama.cpp / Ollama.
 *
 * Endpoints
 *   GET  /health                 {"status":"ok"}
 *   GET  /v1/models              the one model this server holds
 *   POST /v1/completions         prompt (string or array of strings), max_tokens (default 16),
 *                                temperature, top_p, stop (string or array), seed, n (only 1),
 *                                logprobs (0-20: each token's log-prob and the top alternatives)
 *   POST /v1/chat/completions    messages: the `user` contents joined by "\n" form the prompt
 *                                (system/assistant messages are ignored: the char model has no
 *                                chat format); same sampling fields; logprobs: true with
 *                                top_logprobs (0-20)
 * Responses carry `choices[i].finish_reason` ("stop" on EOS or a stop string, "length" at
 * max_tokens) and `usage` {prompt_tokens, completion_tokens, total_tokens}, exact counts of the
 * char tokenizer (completion_tokens includes the EOS / stop string, as vLLM counts).
 * Log-probabilities are the model's own at temperature 1 without top-p (what GRPO stores as
 * pi_old), whatever temperature sampled the token, in OpenAI's shapes: completions
 * `{tokens, token_logprobs, top_logprobs, text_offset}`, chat `{content: [{token, logprob,
 * bytes, top_logprobs}]}`.
 * A `model` other than the served one is 404 (as vLLM and OpenAI answer); leaving it out is
 * fine. What is not implemented is refused with 400 rather than silently ignored: `stream`,
 * `n` > 1, `echo`, `best_of` > 1, `suffix`, `logit_bias`, non-zero presence/frequency penalties,
 * and tool / function calling (`tools`, `tool_choice`, `functions`, `function_call`; only their
 * no-op values pass: an empty list, "none"), with the field named in `error.param`.
 * Errors are `{error: {message, type, param, code}}`: type invalid_request_error for 4xx,
 * server_error for 5xx.
 *
 * Connections (http-drain.ts): request/headers timeouts answer stalled clients 408; close()
 * accepts for acceptGraceMs more, then stops, answers every request already received (the
 * micro-batch queue is flushed, not dropped), and resolves when the last connection is gone.
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
 * one GPT.generate per (temperature, top_p) group. One batch runs at a time. Every request
 * samples from its own stream, so a seeded request's text does not depend on its batch.
 *
 * Where batches are sampled: in a worker thread (generate-thread.ts) when the server is given
 * a `checkpoint` (what the CLI does) or a GPT (its weights are copied to the thread), so the
 * event loop stays free: /health, /v1/models and request parsing are answered while a batch is
 * sampled (sampled on the event loop, a batch of long generations held /health for over a
 * second). The thread samples the same texts for the same seeds as in-process sampling.
 * `worker: false`, a model that is not a GPT (a test's fake), or a thread that cannot start
 * (`workerFailure` says why) samples on the event loop. /health answers 503 if the generation
 * thread has died (every generation would then fail).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { backendInfo } from "../engine/backend.js";
import { GPT } from "../model/gpt.js";
import { LocalModel, type SamplingModel, type TokenizerLike } from "../model/local-model.js";
import type { Completion, CompletionRequest } from "../model/completion.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { resolveCheckpointDir } from "../run/checkpoint.js";
import { loadLocal } from "../train/load-local.js";
import { GenerationThread, type ModelSource } from "./generate-thread.js";
import { closeGracefully, timeoutOptions, trackIdle, type ConnectionOptions } from "./http-drain.js";

export interface ModelServerOptions extends ConnectionOptions {
  /** The model, with `tokenizer`; or leave both out and give `checkpoint`. */
  model?: SamplingModel;
  tokenizer?: TokenizerLike;
  /** A checkpoint (directory, checkpoints folder or run folder): loaded in the generation thread. */
  checkpoint?: string;
  /**
   * Sample in a worker thread (default true). Needs a checkpoint, or a GPT with a CharTokenizer;
   * any other model samples on the event loop, as does everything with `worker: false` (a
   * checkpoint is then loaded here) or when the thread cannot start (see `workerFailure`).
   */
  worker?: boolean;
  /** Model id reported by /v1/models and in responses (default: the checkpoint directory, else "bcr-local"). */
  name?: string;
  port?: number; // default 8000; 0 picks a free port
  host?: string; // default 127.0.0.1
  batchWindowMs?: number; // default 5
  maxBatch?: number; // default 32
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
  /** Whether batches are sampled in a worker thread (false: on the event loop). */
  readonly worker: boolean;
  /** Why the generation thread could not start, when one was wanted (it then samples on the event loop). */
  readonly workerFailure: string | null;
  /** The checkpoint served, when started from one: its resolved directory and step. */
  readonly checkpoint: { dir: string; step: number } | null;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param?: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Pending {
  req: CompletionRequest;
  resolve: (c: Completion) => void;
  reject: (e: Error) => void;
}

export async function startModelServer(opts: ModelServerOptions): Promise<ModelServer> {
  // Resolved here, once: the thread loads exactly this directory (a `latest` that moves later does not matter).
  const ckDir = opts.checkpoint === undefined ? undefined : resolveCheckpointDir(opts.checkpoint);
  const name = opts.name ?? ckDir ?? "bcr-local";
  const maxBatch = opts.maxBatch ?? 32;
  const localOptions = {
    name,
    maxBatch,
    ...(opts.addBos !== undefined ? { addBos: opts.addBos } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  };
  if (ckDir !== undefined && opts.model) throw new Error("startModelServer: give model or checkpoint, not both");
  const source = modelSource(opts, ckDir);
  let thread: GenerationThread | null = null;
  let threadFailure: string | null = null;
  let model: SamplingModel;
  let tokenizer: TokenizerLike;
  let checkpoint: { dir: string; step: number } | null = null;
  let owned: GPT | null = null; // a checkpoint loaded on the event loop: disposed at close
  let started: Awaited<ReturnType<typeof GenerationThread.start>> | null = null;
  if (source) {
    const info = backendInfo();
    try {
      started = await GenerationThread.start({
        source,
        backend: info?.name ?? null,
        kernels: info?.kernels?.engine ?? null,
        local: localOptions,
      });
    } catch (e) {
      // e.g. a backend whose native addon cannot load in a worker thread: sample here instead
      // (a checkpoint that cannot be read fails again below, with the same message).
      threadFailure = (e as Error).message;
    }
  }
  if (started) {
    thread = started.thread;
    const { blockSize, chars, dir, step } = started.ready;
    tokenizer = opts.tokenizer ?? new CharTokenizer(chars);
    if (dir !== null && step !== null) checkpoint = { dir, step };
    // The event loop's model only answers config (the context window): the thread samples.
    model = {
      config: { blockSize },
      generate: () => {
        throw new Error("samples in the generation thread");
      },
    };
  } else if (ckDir !== undefined) {
    const loaded = await loadLocal(ckDir);
    owned = loaded.gpt;
    model = loaded.gpt;
    tokenizer = opts.tokenizer ?? loaded.tokenizer;
    checkpoint = { dir: loaded.dir, step: loaded.step };
  } else {
    if (!opts.model || !opts.tokenizer) throw new Error("startModelServer: give model and tokenizer, or checkpoint");
    model = opts.model;
    tokenizer = opts.tokenizer;
  }
  const release = async () => {
    await thread?.close();
    owned?.dispose();
  };
  // In-process: samples. With a thread: only encodes prompts (their length against the window).
  const local = new LocalModel({ ...localOptions, model, tokenizer });
  const generate = (reqs: CompletionRequest[]): Promise<Completion[]> =>
    thread ? thread.complete(reqs) : local.complete(reqs);
  const blockSize = model.config.blockSize;
  const windowMs = opts.batchWindowMs ?? 5;
  const maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const stats = { requests: 0, batches: 0, items: 0, maxBatchSeen: 0 };
  let mapChars: (s: string, index: number) => string;
  try {
    mapChars = makeCharMapper(tokenizer, opts.unknownChars ?? "reject");
  } catch (e) {
    await release();
    throw e;
  }

  // ---- micro-batching queue ----
  const queue: Pending[] = [];
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
      const results = await generate(batch.map((p) => p.req));
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
      throw new HttpError(
        400,
        `prompt ${index} is ${len} tokens; the model's context window is ${blockSize}`,
        "prompt",
      );
    }
    return text;
  };

  const handleCompletion = async (body: Record<string, unknown>, chat: boolean) => {
    if (body.stream === true) throw new HttpError(400, "streaming is not supported", "stream");
    if (body.n !== undefined && body.n !== null && body.n !== 1) throw new HttpError(400, "only n=1 is supported", "n");
    if (body.model !== undefined && body.model !== null && body.model !== name) {
      throw new HttpError(
        404,
        `The model \`${String(body.model)}\` does not exist; this server serves \`${name}\``,
        "model",
        "model_not_found",
      );
    }
    refuseUnimplemented(body);
    const prompts = chat ? [chatPrompt(body.messages)] : promptList(body.prompt);
    const sampling = parseSampling(body);
    const logprobs = parseLogprobs(body, chat);
    if (logprobs !== undefined) sampling.logprobs = logprobs;
    const reqs = prompts.map((p, i) => ({ ...sampling, prompt: prepare(p, i) }));
    const results = await Promise.all(reqs.map(submit));
    const failed = results.find((r) => r.finishReason === "error");
    if (failed) throw new HttpError(500, failed.error ?? "generation failed");
    const promptTokens = results.reduce((s, r) => s + (r.promptTokens ?? 0), 0);
    const completionTokens = results.reduce((s, r) => s + r.completionTokens, 0);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    };
    const created = Math.floor(Date.now() / 1000);
    const id = `${chat ? "chatcmpl" : "cmpl"}-${stats.requests}`;
    if (chat) {
      const r = results[0]!;
      return {
        id,
        object: "chat.completion",
        created,
        model: name,
        usage,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: r.text },
            finish_reason: r.finishReason,
            logprobs: logprobs === undefined ? null : chatLogprobs(r),
          },
        ],
      };
    }
    return {
      id,
      object: "text_completion",
      created,
      model: name,
      usage,
      choices: results.map((r, index) => ({
        index,
        text: r.text,
        finish_reason: r.finishReason,
        logprobs: logprobs === undefined ? null : completionLogprobs(r),
      })),
    };
  };

  const route = async (req: http.IncomingMessage): Promise<{ status: number; body: unknown }> => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname.replace(/\/+$/, "");
    if (p === "/health") {
      const failed = thread?.failure;
      return failed ? { status: 503, body: { status: failed.message } } : { status: 200, body: { status: "ok" } };
    }
    if (p === "/v1/models" && req.method === "GET") {
      return {
        status: 200,
        body: {
          object: "list",
          data: [{ id: name, object: "model", created: 0, owned_by: "bcr", max_model_len: blockSize }],
        },
      };
    }
    if (p === "/v1/completions" || p === "/v1/chat/completions") {
      if (req.method !== "POST") throw new HttpError(405, `${p} takes POST`);
      const body = await readJson(req, maxBody);
      return { status: 200, body: await handleCompletion(body, p === "/v1/chat/completions") };
    }
    throw new HttpError(404, `no route ${req.method} ${p}`);
  };

  let closing = false;
  const server = http.createServer(timeoutOptions(opts), (req, res) => {
    stats.requests++;
    if (closing) res.setHeader("Connection", "close");
    route(req).then(
      ({ status, body }) => send(res, status, body),
      (e: Error) => {
        const status = e instanceof HttpError ? e.status : 500;
        // 4xx: the request was wrong (OpenAI's invalid_request_error); 5xx: the server was.
        const type = status < 500 ? "invalid_request_error" : "server_error";
        if (status === 413) res.setHeader("Connection", "close"); // the rest of the body is unread
        if (status === 405) res.setHeader("Allow", "POST");
        send(res, status, {
          error: {
            message: e.message,
            type,
            param: (e as HttpError).param ?? null,
            code: (e as HttpError).code ?? status,
          },
        });
      },
    );
  });
  const idle = trackIdle(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 8000, opts.host ?? "127.0.0.1", () => resolve());
    });
  } catch (e) {
    await release();
    throw e;
  }
  let closed: Promise<void> | undefined;
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    port: addr.port,
    stats,
    worker: thread !== null,
    workerFailure: threadFailure,
    checkpoint,
    close() {
      // The micro-batch timer stays: requests already queued are sampled and answered.
      if (!closed) {
        closing = true;
        closed = closeGracefully(server, idle, opts).then(release);
      }
      return closed;
    },
  };
}

/**
 * What the generation thread loads, or null to sample on the event loop (`worker: false`, or a
 * model other than a GPT with a CharTokenizer): a checkpoint, or a GPT's weights (copied now).
 */
function modelSource(opts: ModelServerOptions, ckDir: string | undefined): ModelSource | null {
  if (opts.worker === false) return null;
  if (ckDir !== undefined) return { checkpoint: ckDir };
  if (!(opts.model instanceof GPT) || !(opts.tokenizer instanceof CharTokenizer)) return null;
  const gpt = opts.model;
  return {
    config: gpt.config,
    chars: opts.tokenizer.chars,
    // dataSync may be a view of backend memory: copies that own their buffers (transferred).
    weights: [...gpt.params].map(([n, v]) => ({ name: n, data: (v.dataSync() as Float32Array).slice() })),
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
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new HttpError(400, "request body must be a JSON object");
  return body as Record<string, unknown>;
}

/** Fields this server does not implement: refused (400) when set to anything but their no-op value. */
function refuseUnimplemented(body: Record<string, unknown>): void {
  const set = (k: string, noop: (v: unknown) => boolean) => body[k] !== undefined && body[k] !== null && !noop(body[k]);
  const no = (k: string, why: string) => {
    throw new HttpError(400, `${k} is not supported by this server (${why})`, k);
  };
  if (set("echo", (v) => v === false)) no("echo", "the prompt is not returned");
  if (set("best_of", (v) => v === 1)) no("best_of", "only best_of=1");
  if (set("suffix", (v) => v === "")) no("suffix", "no insertion mode");
  if (set("logit_bias", (v) => typeof v === "object" && Object.keys(v as object).length === 0))
    no("logit_bias", "logits are not biased");
  if (set("presence_penalty", (v) => v === 0)) no("presence_penalty", "no penalties");
  if (set("frequency_penalty", (v) => v === 0)) no("frequency_penalty", "no penalties");
  // Tool / function calling: the model only writes text. Refused rather than ignored, so a
  // client that relies on a tool call learns so at once instead of parsing plain text.
  const empty = (v: unknown) => Array.isArray(v) && v.length === 0;
  const calls = "no tool or function calling: the model only writes text";
  if (set("tools", empty)) no("tools", calls);
  if (set("tool_choice", (v) => v === "none")) no("tool_choice", calls);
  if (set("functions", empty)) no("functions", calls);
  if (set("function_call", (v) => v === "none")) no("function_call", calls);
}

const MAX_LOGPROBS = 20;

/** Completions: `logprobs: k` (0-20). Chat: `logprobs: true` with optional `top_logprobs: k`. Undefined: none asked. */
function parseLogprobs(body: Record<string, unknown>, chat: boolean): number | undefined {
  const k = (v: unknown, name: string): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_LOGPROBS) {
      throw new HttpError(400, `${name} must be an integer from 0 to ${MAX_LOGPROBS}`, name);
    }
    return v;
  };
  if (!chat) return body.logprobs === undefined || body.logprobs === null ? undefined : k(body.logprobs, "logprobs");
  const top =
    body.top_logprobs === undefined || body.top_logprobs === null ? undefined : k(body.top_logprobs, "top_logprobs");
  if (body.logprobs === undefined || body.logprobs === null || body.logprobs === false) {
    if (top !== undefined) throw new HttpError(400, "top_logprobs needs logprobs: true", "top_logprobs");
    return undefined;
  }
  if (body.logprobs !== true) throw new HttpError(400, "logprobs must be a boolean for chat completions", "logprobs");
  return top ?? 0;
}

/** OpenAI's completions shape; text_offset counts characters from the start of the completion. */
function completionLogprobs(r: Completion) {
  const lp = r.logprobs ?? [];
  const offsets: number[] = [];
  let at = 0;
  for (const t of lp) {
    offsets.push(at);
    at += t.token.length;
  }
  return {
    tokens: lp.map((t) => t.token),
    token_logprobs: lp.map((t) => t.logprob),
    top_logprobs: lp.map((t) => Object.fromEntries(t.top.map((a) => [a.token, a.logprob]))),
    text_offset: offsets,
  };
}

/** OpenAI's chat shape. */
function chatLogprobs(r: Completion) {
  const bytes = (s: string) => [...Buffer.from(s, "utf8")];
  return {
    content: (r.logprobs ?? []).map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: bytes(t.token),
      top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: bytes(a.token) })),
    })),
  };
}

function promptList(prompt: unknown): string[] {
  if (typeof prompt === "string") return [prompt];
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === "string"))
    return prompt as string[];
  throw new HttpError(
    400,
    "prompt must be a string or a non-empty array of strings (token-id prompts are not supported)",
    "prompt",
  );
}

function chatPrompt(messages: unknown): string {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new HttpError(400, "messages must be a non-empty array", "messages");
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
        if (
          c &&
          typeof c === "object" &&
          (c as { type?: unknown }).type === "text" &&
          typeof (c as { text?: unknown }).text === "string"
        ) {
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
  const maxTokens =
    num("max_tokens", (v) => Number.isInteger(v) && v >= 1, "a positive integer") ??
    num("max_completion_tokens", (v) => Number.isInteger(v) && v >= 1, "a positive integer") ??
    16;
  const temperature = num("temperature", (v) => v >= 0, "a number >= 0");
  const topP = num("top_p", (v) => v > 0 && v <= 1, "a number in (0, 1]");
  const seed = num("seed", Number.isInteger, "an integer");
  let stop: string[] | undefined;
  if (typeof body.stop === "string") stop = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.every((s) => typeof s === "string")) stop = body.stop as string[];
  else if (body.stop !== undefined && body.stop !== null)
    throw new HttpError(400, "stop must be a string or an array of strings", "stop");
  const out: Omit<CompletionRequest, "prompt"> = { maxTokens };
  if (temperature !== undefined) out.temperature = temperature;
  if (topP !== undefined) out.topP = topP;
  if (seed !== undefined) out.seed = seed;
  if (stop) out.stop = stop;
  return out;
}

/** Checks (reject) or maps (replace) characters the tokenizer cannot encode. */
function makeCharMapper(
  tok: TokenizerLike,
  mode: "reject" | { replace: string },
): (s: string, index: number) => string {
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
  if (mode !== "reject" && !isKnown(mode.replace))
    throw new Error(`unknownChars.replace: ${JSON.stringify(mode.replace)} is not in the vocabulary`);
  return (s, index) => {
    let out = "";
    let pos = 0;
    for (const c of s) {
      if (isKnown(c)) out += c;
      else if (mode === "reject") {
        throw new HttpError(
          400,
          `prompt ${index}: character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}) at position ${pos} is not in the model's vocabulary`,
          "prompt",
        );
      } else out += mode.replace;
      pos++;
    }
    return out;
  };
}
