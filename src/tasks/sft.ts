import { packProblems } from "../bcr/templates.js";
import type { Problem } from "../bcr/types.js";
import { Rng } from "../util/rng.js";
import { TRACE_STYLES, trace, type TraceStyle } from "./traces.js";

/** Relative weights of the trace styles in SFT data (need not sum to 1; an optional style absent = 0). */
export interface StyleMix {
  essential: number;
  redundant: number;
  shortcut: number;
  merged?: number;
  terse?: number;
  bare?: number;
}

/**
 * Default mixture: mostly redundant, so the SFT model is accurate but wordy (the starting point
 * BCR should make concise); some essential traces so concise reasoning is in its repertoire; a few
 * shortcuts so "skip the reasoning" is reachable too (what a strong length penalty pushes toward).
 */
export const DEFAULT_MIX: StyleMix = { essential: 0.1, redundant: 0.8, shortcut: 0.1 };

/**
 * Default re-checks per redundant trace. With DEFAULT_MIX a problem's SFT trace is about 1.6
 * times as long as its essential one at levels 5-8, so a model that keeps the SFT habit has room
 * to become much shorter, and a BCR budget of ~1.2 essential traces per problem is tight for it.
 */
export const DEFAULT_LOOPS: [number, number] = [2, 4];

export interface SftOptions {
  /** Number of examples to build. */
  count: number;
  /** N of each example, drawn uniformly from this set (e.g. [1, 2, 3, 4, 8]). */
  groupSizes: readonly number[];
  seed: number;
  mix?: StyleMix;
  /** Re-checks per redundant trace, inclusive range (default DEFAULT_LOOPS). */
  loops?: [number, number];
  /** Use the shortcut style only on problems with difficulty <= this (default: any). */
  shortcutMaxLevel?: number;
  /** Merged style: chance that a step folds in the next operation (default DEFAULT_MERGE). */
  merge?: number;
}

export interface SftExample {
  prompt: string;
  response: string;
  n: number;
  ids: string[];
  styles: TraceStyle[];
}

/**
 * SFT examples {prompt, response} for packed groups of synthetic problems in the compact
 * template, each problem's trace style drawn from the mixture. Problems are used in a seeded
 * shuffled order, cycling when more are needed.
 */
export function buildSftExamples(problems: readonly Problem[], opts: SftOptions): SftExample[] {
  if (problems.length === 0) throw new Error("buildSftExamples: no problems");
  if (opts.groupSizes.length === 0 || opts.groupSizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`buildSftExamples: groupSizes must be positive integers, got [${opts.groupSizes.join(", ")}]`);
  }
  const mix = opts.mix ?? DEFAULT_MIX;
  const weights = TRACE_STYLES.map((s) => mix[s] ?? 0);
  if (weights.some((w) => !(w >= 0)) || !(weights.reduce((a, b) => a + b, 0) > 0)) {
    throw new Error(`buildSftExamples: style weights must be >= 0 with a positive sum, got ${JSON.stringify(mix)}`);
  }
  const rng = new Rng(opts.seed);
  let order = rng.shuffle(problems);
  let next = 0;
  const take = (): Problem => {
    if (next === order.length) {
      order = rng.shuffle(problems);
      next = 0;
    }
    return order[next++]!;
  };
  const out: SftExample[] = [];
  for (let e = 0; e < opts.count; e++) {
    const n = rng.pick(opts.groupSizes);
    const group = Array.from({ length: n }, take);
    const styles = group.map((p) => pickStyle(rng, weights, p, opts.shortcutMaxLevel));
    const response = group
      .map(
        (p, i) =>
          `${i + 1}:${trace(p.question, p.answer, styles[i]!, rng, { loops: opts.loops ?? DEFAULT_LOOPS, position: i, merge: opts.merge })}`,
      )
      .join(" ");
    out.push({ prompt: packProblems(group).text, response, n, ids: group.map((p) => p.id), styles });
  }
  return out;
}

function pickStyle(rng: Rng, weights: number[], p: Problem, shortcutMaxLevel?: number): TraceStyle {
  const w = weights.slice();
  if (shortcutMaxLevel !== undefined && (p.difficulty ?? 0) > shortcutMaxLevel) w[TRACE_STYLES.indexOf("shortcut")] = 0;
  return TRACE_STYLES[rng.weighted(w)]!;
}
