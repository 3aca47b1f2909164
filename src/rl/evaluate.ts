/**
 * Held-out evaluation of a policy during and after RL: N problems per context under a token
 * budget, greedy by default. Reuses the sweep's grouping and scoring so training-time numbers
 * and sweep numbers are computed the same way.
 */
import type { Problem } from "../bcr/types.js";
import { planGroups, scoreGroup } from "../bcr/groups.js";
import { LocalModel, type SamplingModel, type TokenizerLike } from "../model/local-model.js";
import { packProblems, withTargetPerProblem } from "../bcr/templates.js";
import { countLoops } from "../tasks/traces.js";

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
    examples?: number;
    /** L1-style runs: target tokens per problem, stated in front of every prompt as in training. */
    targetLength?: number;
  },
): Promise<PolicyEval> {
  const local = new LocalModel({ model, tokenizer, name: "policy", maxBatch: 64, seed: opts.seed });
  const groups = planGroups(problems, opts.n, { seed: opts.seed, rotations: 1 });
  if (groups.length === 0)
    throw new Error(`evaluatePolicy: ${problems.length} problems cannot fill one group of ${opts.n}`);
  const prompts = groups.map((g) => {
    const packed = packProblems(g.problems, { template: "compact" });
    return opts.targetLength === undefined ? packed.text : withTargetPerProblem(packed, opts.targetLength).text;
  });
  const completions = await local.complete(
    prompts.map((prompt) => ({ prompt, maxTokens: opts.budget, temperature: opts.temperature, seed: opts.seed })),
  );
  let correct = 0,
    tokens = 0,
    loops = 0,
    truncated = 0,
    count = 0;
  const examples: PolicyEval["examples"] = [];
  groups.forEach((g, i) => {
    const c = completions[i]!;
    const rows = scoreGroup(g, c, {
      model: "policy",
      template: "compact",
      seed: opts.seed,
      budget: String(opts.budget),
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
    loopsPerResponse: loops / groups.length,
    truncationRate: truncated / groups.length,
    examples,
  };
}
