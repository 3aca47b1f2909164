/**
 * LocalModel: a CompletionModel over our own GPT + CharTokenizer, sampling a whole batch of
 * prompts in one `GPT.generate` call with the KV cache.
 *
 * - Prompts are encoded as [BOS, ...chars] (`addBos`, default true, as in training).
 * - Requests are batched together when they share temperature and top_p. Every request gets
 *   its own sampling stream: `new SampleStream(seed)` when it has a seed (any safe integer;
 *   callers derive one per request with deriveSeed), so a seeded request gives the same text
 *   whatever else shares its batch; otherwise a stream seeded from the model's own stream.
 *   Two requests with one seed share one stream: at temperature 1 that is common random numbers,
 *   not independent samples, which is why evaluation never sends one seed twice.
 *   `logprobs` requests also get each token's log-probability and the top alternatives.
 * - Generation stops per sequence on EOS and on single-token stop strings; longer stop strings
 *   are applied to the decoded text afterwards. `completionTokens` counts every token the model
 *   generated for the item, the EOS or the stop string included (as vLLM does); the returned
 *   text excludes them.
 * - A prompt with a character the tokenizer lacks, or too long for the context window, comes
 *   back as `finishReason: "error"`. `maxTokens` is clamped to blockSize - promptTokens (then the
 *   item finishes with "length").
 */
import { Rng, SampleStream, type Uniform } from "../util/rng.js";
import type { SampleOptions } from "./gpt.js";
import { errorCompletion, type Completion, type CompletionModel, type CompletionRequest } from "./completion.js";

/** What LocalModel needs from a GPT (structurally the contract's GPT). */
export interface SamplingModel {
  readonly config: { blockSize: number };
  generate(
    prompts: number[][],
    opts: SampleOptions,
  ): {
    tokens: number[][];
    stopped: boolean[];
    logProbs?: number[][];
    topLogProbs?: { token: number; logProb: number }[][][];
  };
}

/** What LocalModel needs from a CharTokenizer. */
export interface TokenizerLike {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: number[]): string;
}

export interface LocalModelOptions {
  model: SamplingModel;
  tokenizer: TokenizerLike;
  /** Shown in result rows (default "local"). */
  name?: string;
  /** Prepend BOS to every prompt (default true). */
  addBos?: boolean;
  bosId?: number; // default 1 (CharTokenizer.BOS)
  eosId?: number; // default 2 (CharTokenizer.EOS)
  /** Most sequences per generate call (default 32). */
  maxBatch?: number;
  /** Temperature when a request gives none (default 1). */
  defaultTemperature?: number;
  /** Seed of the stream used by requests without a seed (default 0). */
  seed?: number;
}

interface Item {
  index: number;
  ids: number[];
  cap: number;
  req: CompletionRequest;
  rng: Uniform;
}

export class LocalModel implements CompletionModel {
  readonly name: string;
  readonly model: SamplingModel;
  readonly tokenizer: TokenizerLike;
  /** Number of generate calls and sequences sampled (for tests and throughput logs). */
  readonly stats = { generateCalls: 0, sequences: 0 };
  private readonly addBos: boolean;
  private readonly bosId: number;
  private readonly eosId: number;
  private readonly maxBatch: number;
  private readonly defaultTemperature: number;
  private readonly rng: Rng;

  constructor(opts: LocalModelOptions) {
    this.model = opts.model;
    this.tokenizer = opts.tokenizer;
    this.name = opts.name ?? "local";
    this.addBos = opts.addBos ?? true;
    this.bosId = opts.bosId ?? 1;
    this.eosId = opts.eosId ?? 2;
    this.maxBatch = opts.maxBatch ?? 32;
    this.defaultTemperature = opts.defaultTemperature ?? 1;
    this.rng = new Rng(opts.seed ?? 0);
  }

  /** Encode a prompt as the model sees it; throws (naming the character) when it cannot. */
  encodePrompt(prompt: string): number[] {
    const ids = this.tokenizer.encode(prompt);
    return this.addBos ? [this.bosId, ...ids] : ids;
  }

  async complete(requests: CompletionRequest[], opts: { signal?: AbortSignal } = {}): Promise<Completion[]> {
    const out: Completion[] = new Array(requests.length);
    const groups = new Map<string, Item[]>();
    const blockSize = this.model.config.blockSize;
    requests.forEach((req, index) => {
      let ids: number[];
      try {
        ids = this.encodePrompt(req.prompt);
      } catch (e) {
        out[index] = errorCompletion(`prompt not encodable: ${(e as Error).message}`);
        return;
      }
      if (ids.length >= blockSize) {
        out[index] = errorCompletion(`prompt is ${ids.length} tokens; the context window is ${blockSize}`);
        return;
      }
      const cap = Math.max(0, Math.min(Math.floor(req.maxTokens), blockSize - ids.length));
      if (cap === 0) {
        out[index] = {
          text: "",
          completionTokens: 0,
          promptTokens: ids.length,
          finishReason: "length",
          tokensEstimated: false,
        };
        return;
      }
      const temperature = req.temperature ?? this.defaultTemperature;
      const key = `${temperature}|${req.topP ?? 1}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      if (req.seed !== undefined && !Number.isSafeInteger(req.seed)) {
        out[index] = errorCompletion(`seed must be a safe integer, got ${req.seed}`);
        return;
      }
      const rng = new SampleStream(req.seed ?? this.rng.int(0, 2 ** 31 - 1));
      g.push({ index, ids, cap, req, rng });
    });
    for (const items of groups.values()) {
      const first = items[0]!.req;
      for (const batch of this.batches(items, blockSize)) {
        opts.signal?.throwIfAborted();
        const results = this.runBatch(batch, first.temperature ?? this.defaultTemperature, first.topP);
        batch.forEach((it, i) => (out[it.index] = results[i]!));
        await new Promise((r) => setImmediate(r)); // let the event loop breathe (servers, aborts)
      }
    }
    return out;
  }

  /** Split into batches of at most maxBatch whose longest prompt + largest cap fits the window. */
  private *batches(items: Item[], blockSize: number): Generator<Item[]> {
    const sorted = items.slice().sort((a, b) => a.ids.length - b.ids.length);
    let cur: Item[] = [];
    let maxLen = 0,
      maxCap = 0;
    for (const it of sorted) {
      const len = Math.max(maxLen, it.ids.length),
        cap = Math.max(maxCap, it.cap);
      if (cur.length > 0 && (cur.length >= this.maxBatch || len + cap > blockSize)) {
        yield cur;
        cur = [];
        maxLen = it.ids.length;
        maxCap = it.cap;
      } else {
        maxLen = len;
        maxCap = cap;
      }
      cur.push(it);
    }
    if (cur.length) yield cur;
  }

  private runBatch(batch: Item[], temperature: number, topP: number | undefined): Completion[] {
    const maxNew = Math.max(...batch.map((it) => it.cap));
    const stopTokens = batch.map((it) => [this.eosId, ...this.singleTokenStops(it.req.stop)]);
    const topK = Math.max(0, ...batch.map((it) => it.req.logprobs ?? 0));
    let res: ReturnType<SamplingModel["generate"]>;
    try {
      res = this.model.generate(
        batch.map((it) => it.ids),
        {
          maxNewTokens: maxNew,
          temperature,
          topP,
          stopTokens,
          rng: batch.map((it) => it.rng),
          useCache: true,
          ...(topK > 0 ? { topLogProbs: topK } : {}),
        },
      );
    } catch (e) {
      return batch.map(() => errorCompletion(`generate failed: ${(e as Error).message}`));
    }
    this.stats.generateCalls++;
    this.stats.sequences += batch.length;
    return batch.map((it, i) => {
      const c = this.finish(res.tokens[i]!.slice(0, it.cap), it);
      if (it.req.logprobs === undefined || c.finishReason === "error") return c;
      return { ...c, logprobs: this.tokenLogProbs(res, i, c.text, it.req.logprobs) };
    });
  }

  /** Log-probs of the tokens that make up `text` (EOS and stop strings are not in it). */
  private tokenLogProbs(res: ReturnType<SamplingModel["generate"]>, row: number, text: string, k: number) {
    if (!res.logProbs) throw new Error("the model's generate returned no log-probs");
    const out: NonNullable<Completion["logprobs"]> = [];
    let len = 0;
    for (let t = 0; t < res.tokens[row]!.length && len < text.length; t++) {
      const token = this.tokenizer.decode([res.tokens[row]![t]!]);
      len += token.length;
      const top = (res.topLogProbs?.[row]?.[t] ?? [])
        .slice(0, k)
        .map((a) => ({ token: this.tokenizer.decode([a.token]), logprob: a.logProb }));
      out.push({ token, logprob: res.logProbs[row]![t]!, top });
    }
    return out;
  }

  private singleTokenStops(stop: string[] | undefined): number[] {
    const ids: number[] = [];
    for (const s of stop ?? []) {
      try {
        const enc = this.tokenizer.encode(s);
        if (enc.length === 1) ids.push(enc[0]!);
      } catch {
        /* a stop string the vocabulary cannot produce never matches */
      }
    }
    return ids;
  }

  /** Cut at EOS or the first stop string; count the tokens generated up to and including it. */
  private finish(tokens: number[], it: Item): Completion {
    const stops = (it.req.stop ?? []).filter((s) => s.length > 0);
    let text = "";
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k]!;
      if (t === this.eosId) return this.done(text, k + 1, it, "stop");
      text += this.tokenizer.decode([t]);
      let cut = -1;
      for (const s of stops) {
        const at = text.indexOf(s, Math.max(0, text.length - s.length - 8));
        if (at >= 0 && (cut < 0 || at < cut)) cut = at;
      }
      if (cut >= 0) return this.done(text.slice(0, cut), k + 1, it, "stop");
    }
    return this.done(text, tokens.length, it, "length");
  }

  private done(text: string, n: number, it: Item, finishReason: "stop" | "length"): Completion {
    return { text, completionTokens: n, promptTokens: it.ids.length, finishReason, tokensEstimated: false };
  }
}
