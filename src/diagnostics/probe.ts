/**
 * The step every model probe shares: pack problems into a prompt, let a local model write the
 * response (optionally after a forced, teacher-forced start), score the whole response against
 * the golds. One `generate` call over the whole batch with one sampling stream, so a probe run
 * twice with the same seed gives the same numbers.
 */
import { packProblems } from "../bcr/templates.js";
import { scoreResponse } from "../bcr/score.js";
import type { PackedPrompt, Problem } from "../bcr/types.js";
import type { LocalModel } from "../model/local-model.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { deriveSeed, SampleStream } from "../util/rng.js";

export interface ProbeItem {
  problems: Problem[];
  /** Text the response starts with, fed to the model rather than sampled (default none). */
  forced?: string;
}

export interface ProbeResult {
  packed: PackedPrompt;
  /** The whole response as scored: the forced start, then what the model wrote. */
  response: string;
  /** Tokens the model generated (the forced start not counted). */
  tokens: number;
  /** The model ran out of budget before EOS. */
  truncated: boolean;
  /** Per problem of the pack, in order. */
  correct: boolean[];
}

export interface ProbeOptions {
  /** The response budget in new tokens: a number, or one from the longest prompt (in tokens, BOS included). */
  budget: number | ((longestPrompt: number) => number);
  /** 0 is greedy. */
  temperature: number;
  /** Seed the items' sampling streams derive from (one stream per item: deriveSeed(seed, item)). */
  seed: number;
}

/** Pack, generate, score: one result per item (compact template, as the models are trained). */
export function generateAndScore(model: LocalModel, items: readonly ProbeItem[], opts: ProbeOptions): ProbeResult[] {
  const packed = items.map((it) => packProblems(it.problems));
  const prompts = items.map((it, i) => model.encodePrompt(packed[i]!.text + (it.forced ?? "")));
  const longest = Math.max(...prompts.map((p) => p.length));
  const budget = typeof opts.budget === "number" ? opts.budget : opts.budget(longest);
  if (budget < 1 || longest + budget > model.model.config.blockSize) {
    throw new Error(
      `the longest prompt (${longest} tokens) and ${budget} new tokens do not fit the model's context (${model.model.config.blockSize})`,
    );
  }
  const res = model.model.generate(prompts, {
    maxNewTokens: budget,
    temperature: opts.temperature,
    stopTokens: [CharTokenizer.EOS],
    rng: prompts.map((_, i) => new SampleStream(deriveSeed("probe", opts.seed, i))),
  });
  return items.map((it, i) => {
    const response = (it.forced ?? "") + model.tokenizer.decode(res.tokens[i]!);
    const truncated = !res.stopped[i];
    return {
      packed: packed[i]!,
      response,
      tokens: res.tokens[i]!.length,
      truncated,
      correct: scoreResponse(response, packed[i]!.golds, { template: "compact", truncated }).correct,
    };
  });
}

/** Hits over trials as a share (NaN when there were none). */
export const share = ([hits, trials]: readonly [number, number]): number => (trials ? hits / trials : NaN);
