/**
 * Small fakes for evaluation tests: a deterministic "GPT" that needs no tensors, and a
 * CompletionModel that records every request it is asked.
 */
import type { Rng } from "../../src/util/rng.js";
import type { SamplingModel } from "../../src/model/local-model.js";
import type { Completion, CompletionModel, CompletionRequest } from "../../src/model/completion.js";

/**
 * Emits `reply(prompt)` token by token then EOS (id 2), honouring maxNewTokens and per-sequence
 * stop tokens like the real GPT.generate. Records each call's batch size.
 */
export class FakeGenerator implements SamplingModel {
  readonly config: { blockSize: number };
  readonly calls: { batch: number; maxNewTokens: number }[] = [];
  constructor(
    private readonly reply: (prompt: number[]) => number[],
    blockSize = 256,
  ) {
    this.config = { blockSize };
  }
  generate(prompts: number[][], opts: { maxNewTokens: number; stopTokens?: number[] | number[][]; rng: Rng }) {
    this.calls.push({ batch: prompts.length, maxNewTokens: opts.maxNewTokens });
    const tokens: number[][] = [];
    const stopped: boolean[] = [];
    prompts.forEach((p, b) => {
      const st =
        opts.stopTokens === undefined
          ? []
          : Array.isArray(opts.stopTokens[0])
            ? (opts.stopTokens as number[][])[b]!
            : (opts.stopTokens as number[]);
      const want = [...this.reply(p), 2];
      const out: number[] = [];
      let stop = false;
      for (const t of want) {
        if (out.length >= opts.maxNewTokens) break;
        out.push(t);
        if (st.includes(t)) {
          stop = true;
          break;
        }
      }
      tokens.push(out);
      stopped.push(stop);
    });
    return { tokens, stopped, logProbs: tokens.map((t) => t.map(() => 0)) };
  }
}

/**
 * A CompletionModel answering with `answer(prompt)`; counts requests per prompt, can be told to
 * throw after `failAfterCalls` complete() calls (an interrupted run) or to fail some items.
 */
export class RecordingModel implements CompletionModel {
  readonly name: string;
  readonly asked: CompletionRequest[] = [];
  calls = 0;
  failAfterCalls = Infinity;
  failItem: (r: CompletionRequest) => boolean = () => false;
  constructor(
    private readonly answer: (r: CompletionRequest) => string,
    name = "fake",
  ) {
    this.name = name;
  }
  async complete(requests: CompletionRequest[]): Promise<Completion[]> {
    if (this.calls >= this.failAfterCalls) throw new Error("simulated crash");
    this.calls++;
    this.asked.push(...requests);
    return requests.map((r) => {
      if (this.failItem(r))
        return { text: "", completionTokens: 0, finishReason: "error", tokensEstimated: false, error: "injected" };
      const full = this.answer(r);
      const text = full.slice(0, r.maxTokens);
      return {
        text,
        completionTokens: text.length,
        finishReason: text.length < full.length ? "length" : "stop",
        tokensEstimated: false,
      };
    });
  }
}
