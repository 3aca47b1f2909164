/**
 * Held-out evaluation of a policy during and after RL: N problems per context under a token
 * budget, greedy by default. Reuses the sweep's grouping and scoring so training-time numbers
 * and sweep numbers are computed the same way. At temperature > 0 each group is drawn `samples`
 * times, every request with its own seed (deriveSeed of the eval's seed, N, group and sample),
 * as in sweepN: one seed for all requests would make every problem take the same branch.
 * Accuracy and tokens are means over every (problem, sample) row; loops and truncation over
 * every response.
 */
import type { Problem } from "../bcr/types.js";
import { planGroups, scoreGroup } from "../bcr/groups.js";
import { LocalModel, type SamplingModel, type TokenizerLike } from "../model/local-model.js";
import { packProblems, withTargetPerProblem } from "../bcr/templates.js";
import { countLoops } from "../tasks/traces.js";
import { deriveSeed } from "../util/rng.js";

export interface PolicyEval {
  accuracy: number;
  tokensPerProblem: number;
  loopsPerResponse: number;
  truncationRate: number;
  /** Example responses (first few groups) for samples.jsonl. */
  examples: { prompt: string; response: string; correct: boolean[] }[];
}

export async function evaluatePolicy(
  model: SamplingModel,
  tokenizer: TokenizerLike,
  problems: Problem[],
  opts: {
    n: number;
    budget: number;
    temperature: number;
    seed: number;
    /** Draws per group at temperature > 0 (default 1; greedy is drawn once). */
    samples?: number;
    examples?: number;
    /** L1-style runs: target tokens per problem, stated in front of every prompt as in training. */
    targetLength?: number;
  },
): Promise<PolicyEval> {
  const local = new LocalModel({ model, tokenizer, name: "policy", maxBatch: 64, seed: opts.seed });
  const groups = planGroups(problems, opts.n, { seed: opts.seed, rotations: 1 });
  if (groups.length === 0)
    throw new Error(`evaluatePolicy: ${problems.length} problems cannot fill one group of ${opts.n}`);
  const samples = opts.temperature > 0 ? (opts.samples ?? 1) : 1;
  if (!(Number.isInteger(samples) && samples >= 1))
    throw new Error(`evaluatePolicy: samples must be a positive integer, got ${opts.samples}`);
  const asks = groups.flatMap((g) => Array.from({ length: samples }, (_, sample) => ({ g, sample })));
  const prompts = asks.map(({ g }) => {
    const packed = packProblems(g.problems, { template: "compact" });
    return opts.targetLength === undefined ? packed.text : withTargetPerProblem(packed, opts.targetLength).text;
  });
  const completions = await local.complete(
    asks.map(({ g, sample }, i) => ({
      prompt: prompts[i]!,
      maxTokens: opts.budget,
      temperature: opts.temperature,
      seed: deriveSeed("policy-eval", opts.seed, opts.n, g.group, sample),
    })),
  );
  let correct = 0,
    tokens = 0,
    loops = 0,
    truncated = 0,
    count = 0;
  const examples: PolicyEval["examples"] = [];
  asks.forEach(({ g, sample }, i) => {
    const c = completions[i]!;
    const rows = scoreGroup(g, c, {
      model: "policy",
      template: "compact",
      seed: opts.seed,
      budget: String(opts.budget),
      sample,
    });
    for (const r of rows) {
      correct += r.correct ? 1 : 0;
      tokens += r.tokens;
      count++;
    }
    loops += countLoops(c.text);
    truncated += c.finishReason === "length" ? 1 : 0;
    if (examples.length < (opts.examples ?? 4))
      examples.push({ prompt: prompts[i]!, response: c.text, correct: rows.map((r) => r.correct) });
  });
  return {
    accuracy: correct / count,
    tokensPerProblem: tokens / count,
    loopsPerResponse: loops / asks.length,
    truncationRate: truncated / asks.length,
    examples,
  };
}
