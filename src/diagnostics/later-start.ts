/**
 * Does problem 2 of a packed pair fail because of *where* it starts? Teacher-forces problem 1's
 * trace with a chosen number of re-checks (0 = the essential trace), so problem 2's trace starts
 * earlier or later in the context with everything else equal, then lets the model write problem
 * 2 (greedy) and measures problem 2's accuracy and fetch rate per choice. Re-checks are placed as
 * in the SFT data (each repeats the step just done; seeded). If problem 2 does much better when
 * it starts earlier, the fetch depends on absolute position; if not, position is not what makes
 * it hard.
 */
import type { Problem } from "../bcr/types.js";
import type { LocalModel } from "../model/local-model.js";
import { operationFetches, trace } from "../tasks/traces.js";
import { Rng } from "../util/rng.js";
import { generateAndScore } from "./probe.js";

export interface LaterStartOptions {
  /** Re-checks in problem 1's forced trace, one row each (default 0, 2, 4). */
  loops?: number[];
  /** Seed of the re-check placement (default 7). */
  traceSeed?: number;
  /** New tokens for problem 2 (default 100). */
  budget?: number;
}

export interface LaterStartRow {
  loops: number;
  pairs: number;
  /** Mean position (in tokens, BOS included) where problem 2's section starts. */
  meanStart: number;
  accuracy: number;
  fetch: number;
  /** Trace steps of problem 2 the fetch rate counts. */
  steps: number;
}

/** Pairs are consecutive problems: (0, 1), (2, 3), ... */
export function laterStart(
  model: LocalModel,
  problems: readonly Problem[],
  opts: LaterStartOptions = {},
): LaterStartRow[] {
  const pairs = Math.floor(problems.length / 2);
  if (pairs === 0) throw new Error(`later-start: needs at least 2 problems, got ${problems.length}`);
  return (opts.loops ?? [0, 2, 4]).map((loops) => {
    const rng = new Rng(opts.traceSeed ?? 7);
    const items = Array.from({ length: pairs }, (_, i) => {
      const [p1, p2] = [problems[2 * i]!, problems[2 * i + 1]!];
      const forced =
        loops === 0
          ? trace(p1.question, p1.answer, "essential", rng)
          : trace(p1.question, p1.answer, "redundant", rng, { loops: [loops, loops] });
      return { problems: [p1, p2], forced: `1:${forced} 2:` };
    });
    const results = generateAndScore(model, items, { budget: opts.budget ?? 100, temperature: 0, seed: 1 });
    let right = 0,
      fetched = 0,
      steps = 0,
      start = 0;
    results.forEach((r, i) => {
      right += Number(r.correct[1]);
      const [a, t] = operationFetches(
        r.response,
        items[i]!.problems.map((p) => p.question),
      )[1]!;
      fetched += a;
      steps += t;
      start += 1 + r.packed.text.length + items[i]!.forced.length;
    });
    return { loops, pairs, meanStart: start / pairs, accuracy: right / pairs, fetch: fetched / steps, steps };
  });
}

export function formatLaterStart(rows: readonly LaterStartRow[]): string[] {
  return rows.map(
    (r) =>
      `  problem 1 with ${r.loops} re-checks: problem 2 starts at position ${r.meanStart.toFixed(0)} on average; ` +
      `problem 2 accuracy ${r.accuracy.toFixed(3)}, fetch ${r.fetch.toFixed(2)} (${r.steps} steps)`,
  );
}
