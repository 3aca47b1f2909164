/**
 * Do re-checks cost or buy accuracy? Samples one-problem responses and groups them by the
 * number of `chk` re-checks they hold, answer-only responses (`A<value>` with no steps) as their
 * own row. Why it matters: accuracy-only RL keeps re-checks only if they are right more often than
 * responses without them; if re-checks are accuracy-neutral, nothing but a budget (BCR) or a
 * penalty pushes them out.
 */
import type { Problem } from "../bcr/types.js";
import type { LocalModel } from "../model/local-model.js";
import { countLoops } from "../tasks/traces.js";
import { generateAndScore } from "./probe.js";

export interface LoopsAccuracyOptions {
  /** Samples per problem, seeds seed, seed + 1, ... (default 4 from 100). */
  repeats?: number;
  seed?: number;
  temperature?: number;
  /** New tokens per response (default 160, the budget of the reproduction's N=1 eval). */
  budget?: number;
}

/** Rows: -1 answer-only, then 0..4 re-checks, then 5 meaning five or more. */
export const ANSWER_ONLY = -1;
export const MOST_LOOPS = 5;

export interface LoopsAccuracyRow {
  loops: number;
  responses: number;
  right: number;
  tokens: number;
}

export interface LoopsAccuracy {
  /** Sorted by `loops` (ANSWER_ONLY first). */
  rows: LoopsAccuracyRow[];
  responses: number;
}

export function loopsAccuracy(
  model: LocalModel,
  problems: readonly Problem[],
  opts: LoopsAccuracyOptions = {},
): LoopsAccuracy {
  const repeats = opts.repeats ?? 4,
    seed = opts.seed ?? 100;
  const rows = new Map<number, LoopsAccuracyRow>();
  for (let r = 0; r < repeats; r++) {
    const results = generateAndScore(
      model,
      problems.map((p) => ({ problems: [p] })),
      {
        budget: opts.budget ?? 160,
        temperature: opts.temperature ?? 1,
        seed: seed + r,
      },
    );
    for (const res of results) {
      // a compact response with no trace step is `1:A<value>`: no `=` anywhere
      const k = res.response.includes("=") ? Math.min(countLoops(res.response), MOST_LOOPS) : ANSWER_ONLY;
      const row = rows.get(k) ?? { loops: k, responses: 0, right: 0, tokens: 0 };
      row.responses++;
      row.right += Number(res.correct[0]);
      row.tokens += res.tokens;
      rows.set(k, row);
    }
  }
  return { rows: [...rows.values()].sort((a, b) => a.loops - b.loops), responses: problems.length * repeats };
}

const rowName = (k: number) =>
  k === ANSWER_ONLY ? "answer-only" : k === MOST_LOOPS ? `${MOST_LOOPS}+ re-checks` : `${k} re-checks`;

export function formatLoopsAccuracy(r: LoopsAccuracy): string[] {
  const all = r.rows.reduce(
    (a, x) => ({ right: a.right + x.right, n: a.n + x.responses, tokens: a.tokens + x.tokens }),
    { right: 0, n: 0, tokens: 0 },
  );
  return [
    ...r.rows.map(
      (x) =>
        `  ${rowName(x.loops).padEnd(13)} accuracy ${(x.right / x.responses).toFixed(3)}  share ${(x.responses / r.responses).toFixed(3)}  tokens ${(x.tokens / x.responses).toFixed(1)}`,
    ),
    `  ${"all".padEnd(13)} accuracy ${(all.right / all.n).toFixed(3)}  tokens ${(all.tokens / all.n).toFixed(1)}`,
  ];
}
