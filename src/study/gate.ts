/**
 * Gate measurements on an SFT model, before any RL (rigor.md: "gate the experiment, not the
 * verdict"). Every figure comes from independent samples at temperature 1, each request with its
 * own seed derived from named parts (the gate's stream, the seed, N, group, sample, round).
 *
 *   recheck_share            share of sampled N=1 responses with at least one re-check (countLoops)
 *   difficulty_token_gap     mean tokens of sampled N=1 responses on hard problems minus on easy ones
 *                            (experiment B: a model that writes the same length for both has
 *                            nothing a shared budget could move between them)
 *   forced_bare_accuracy_nK  accuracy over packs of K with every problem's section forced into the
 *                            bare form (`55 40 46 A46`): after each section header `k:` the first
 *                            token is drawn from the model's own distribution restricted to digits
 *                            (renormalised; no value is given away: every other form starts with a
 *                            letter), then the model writes freely until the next header, its EOS
 *                            or the budget. That is what "the model can do the bare form at N=K"
 *                            means; the ladder's prefix forcing (diagnostics/ladder.ts) cannot force
 *                            bare without writing the first result for the model.
 */
import * as path from "node:path";
import { planGroups } from "../bcr/groups.js";
import { scoreResponse } from "../bcr/score.js";
import { packProblems } from "../bcr/templates.js";
import type { Problem } from "../bcr/types.js";
import { sweepN } from "../eval/sweep.js";
import type { CompletionModel } from "../model/completion.js";
import { countLoops } from "../tasks/traces.js";
import { readJsonl } from "../util/fsx.js";
import { deriveSeed, Rng } from "../util/rng.js";
import type { GateMetric } from "./config.js";

export interface GateMeasurement {
  metric: GateMetric;
  figure: number;
  /** Responses (N=1) or packs (forced bare) the figure averages. */
  responses: number;
  /** One line on how it was measured. */
  how: string;
}

export interface GateContext {
  model: CompletionModel;
  problems: Problem[];
  samples: number;
  budget: number;
  seed: number;
  /** Folder for the N=1 sampling cache (resumable). */
  outDir: string;
  batchSize?: number;
  difficulty?: { easy: number[]; hard: number[] };
  signal?: AbortSignal;
}

interface CacheLine {
  key: { n: number; group: number; sample?: number };
  ids: string[];
  response: string;
}

/** Sampled N=1 responses (one sweepN at N=1, stream "gate"), with their problems' rows. */
async function sampleN1(ctx: GateContext) {
  const dir = path.join(ctx.outDir, "n1");
  const r = await sweepN({
    model: ctx.model,
    problems: ctx.problems,
    ns: [1],
    budget: { kind: "fixed", tokens: ctx.budget },
    outDir: dir,
    seed: ctx.seed,
    temperature: 1,
    samples: ctx.samples,
    rotations: 1,
    stream: "gate",
    batchSize: ctx.batchSize ?? 64,
    progress: false,
    bootstrapResamples: 1,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const text = new Map<string, string>();
  for (const rec of readJsonl<CacheLine>(path.join(dir, "cache.jsonl")))
    text.set(`${rec.ids[0]!}|${rec.key.sample ?? 0}`, rec.response);
  return r.rows.filter((x) => !x.failed).map((x) => ({ ...x, text: text.get(`${x.problemId}|${x.sample}`) ?? "" }));
}

export async function measureGate(metric: GateMetric, ctx: GateContext): Promise<GateMeasurement> {
  if (metric === "recheck_share") {
    const rows = await sampleN1(ctx);
    const share = rows.filter((r) => countLoops(r.text) > 0).length / rows.length;
    return {
      metric,
      figure: share,
      responses: rows.length,
      how: `${rows.length} sampled N=1 responses (${ctx.problems.length} problems x ${ctx.samples}, temperature 1, budget ${ctx.budget})`,
    };
  }
  if (metric === "difficulty_token_gap") {
    const d = ctx.difficulty;
    if (!d) throw new Error("gate difficulty_token_gap: the experiment sets no difficulty (easy and hard levels)");
    const rows = await sampleN1(ctx);
    const meanOf = (levels: number[]) => {
      const xs = rows.filter((r) => levels.includes(r.difficulty ?? -1)).map((r) => r.tokens);
      return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
    };
    return {
      metric,
      figure: meanOf(d.hard) - meanOf(d.easy),
      responses: rows.length,
      how: `${rows.length} sampled N=1 responses: mean tokens at levels ${d.hard.join(",")} minus at ${d.easy.join(",")}`,
    };
  }
  const n = metric === "forced_bare_accuracy_n1" ? 1 : 8;
  const r = await forcedBareAccuracy(ctx.model, ctx.problems, n, ctx);
  return {
    metric,
    figure: r.accuracy,
    responses: r.packs,
    how: `${r.packs} packs of ${n} (${ctx.samples} draws each, temperature 1, budget ${ctx.budget}), every section forced to start with a digit`,
  };
}

const DIGIT = /^[0-9]$/;

/** forced_bare_accuracy at packs of n (see the header): accuracy over every problem of every pack and draw. */
export async function forcedBareAccuracy(
  model: CompletionModel,
  problems: Problem[],
  n: number,
  opts: { samples: number; budget: number; seed: number; signal?: AbortSignal },
): Promise<{ accuracy: number; packs: number; truncated: number }> {
  const groups = planGroups(problems, n, { seed: opts.seed, rotations: 1 });
  if (groups.length === 0) throw new Error(`forced bare: fewer than ${n} problems`);
  const asks = groups.flatMap((g) =>
    Array.from({ length: opts.samples }, (_, sample) => ({
      g,
      sample,
      prompt: packProblems(g.problems).text,
      response: "",
      open: true,
      truncated: false,
    })),
  );
  const seedOf = (a: (typeof asks)[number], k: number, part: string) =>
    deriveSeed("gate-forced-bare", opts.seed, n, a.g.group, a.sample, k, part);
  for (let k = 1; k <= n; k++) {
    opts.signal?.throwIfAborted();
    const live = asks.filter((a) => a.open);
    for (const a of live) {
      a.response += `${k}:`;
      if (a.response.length >= opts.budget) {
        a.open = false;
        a.truncated = true;
      }
    }
    // The first token of section k, among digits, from the model's own distribution.
    const first = live.filter((a) => a.open);
    const heads = await model.complete(
      first.map((a) => ({
        prompt: a.prompt + a.response,
        maxTokens: 1,
        temperature: 1,
        logprobs: 64,
        seed: seedOf(a, k, "digit"),
      })),
    );
    first.forEach((a, i) => {
      const top = heads[i]?.logprobs?.[0]?.top ?? [];
      const digits = top.filter((t) => DIGIT.test(t.token));
      const rng = new Rng(seedOf(a, k, "pick"));
      a.response += pickByLogprob(digits, rng) ?? "0";
    });
    // Then free writing until the next header, the end, or the budget.
    const rest = first.filter((a) => a.response.length < opts.budget);
    for (const a of first)
      if (a.response.length >= opts.budget) {
        a.open = false;
        a.truncated = true;
      }
    const outs = await model.complete(
      rest.map((a) => ({
        prompt: a.prompt + a.response,
        maxTokens: opts.budget - a.response.length,
        temperature: 1,
        seed: seedOf(a, k, "rest"),
        ...(k < n ? { stop: [`${k + 1}:`] } : {}),
      })),
    );
    rest.forEach((a, i) => {
      const c = outs[i]!;
      if (c.finishReason === "error") {
        a.open = false;
        return;
      }
      a.response += c.text;
      if (c.finishReason === "length") {
        a.open = false;
        a.truncated = true;
      }
    });
  }
  let correct = 0,
    total = 0,
    truncated = 0;
  for (const a of asks) {
    const s = scoreResponse(
      a.response,
      a.g.problems.map((p) => p.answer),
      { truncated: a.truncated },
    );
    correct += s.correct.filter(Boolean).length;
    total += n;
    truncated += Number(a.truncated);
  }
  return { accuracy: correct / total, packs: asks.length, truncated };
}

/** A token drawn with probability proportional to exp(logprob) among `options` (null when empty). */
function pickByLogprob(options: { token: string; logprob: number }[], rng: Rng): string | null {
  if (options.length === 0) return null;
  const top = Math.max(...options.map((o) => o.logprob));
  const w = options.map((o) => Math.exp(o.logprob - top));
  let u = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < options.length; i++) {
    u -= w[i]!;
    if (u <= 0) return options[i]!.token;
  }
  return options[options.length - 1]!.token;
}
