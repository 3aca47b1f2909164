/**
 * Can a local model solve every problem of a packed context, or only the first? Packs the
 * problems in consecutive groups of N, samples one response per group (greedy by default) and
 * measures per N: accuracy, accuracy by position, tokens and re-check loops per problem, and the
 * "fetch" rate by position: the share of trace steps `<symbol><value><op><operand>=` whose op and
 * operand are the operation the step's symbol names (stepLabel: a-e for problem 1, f-j for
 * problem 2, ...). A low fetch rate with a high one at position 1 means the model cannot find a
 * later problem's operations in the prompt.
 */
import type { Problem } from "../bcr/types.js";
import type { LocalModel } from "../model/local-model.js";
import { countLoops, operationFetches } from "../tasks/traces.js";
import { generateAndScore, share, type ProbeResult } from "./probe.js";

export interface PackedLookupOptions {
  /** Pack sizes (default 1, 2, 3, 4). */
  ns?: number[];
  /** 0 is greedy (default). */
  temperature?: number;
  /** Seed of the sampling stream (default 1). */
  seed?: number;
}

export interface PackedLookupRow {
  n: number;
  groups: number;
  accuracy: number;
  /** Share right at positions 1..N. */
  accuracyByPosition: number[];
  tokensPerProblem: number;
  loopsPerProblem: number;
  /** Share of trace steps fetching the right operation, at positions 1..N. */
  fetchByPosition: number[];
  /** Prompts and responses, for reading how later problems go wrong. */
  samples: { prompt: string; response: string }[];
}

/** One row per N; problems are used in order, `floor(problems / N)` groups per N. */
export function packedLookup(
  model: LocalModel,
  problems: readonly Problem[],
  opts: PackedLookupOptions = {},
): PackedLookupRow[] {
  const ns = opts.ns ?? [1, 2, 3, 4];
  return ns.map((n) => {
    const groups: Problem[][] = [];
    for (let i = 0; i + n <= problems.length; i += n) groups.push(problems.slice(i, i + n));
    if (groups.length === 0)
      throw new Error(`packed-lookup: N=${n} needs at least ${n} problems, got ${problems.length}`);
    // Room for N traces and the answers, within the context.
    const results = generateAndScore(
      model,
      groups.map((g) => ({ problems: g })),
      {
        budget: (longest) => Math.min(model.model.config.blockSize - longest, 60 * n + 100),
        temperature: opts.temperature ?? 0,
        seed: opts.seed ?? 1,
      },
    );
    const right = Array.from({ length: n }, (): [number, number] => [0, 0]);
    const fetched = Array.from({ length: n }, (): [number, number] => [0, 0]);
    let tokens = 0,
      loops = 0;
    results.forEach((r: ProbeResult, i) => {
      r.correct.forEach((c, k) => {
        right[k]![0] += Number(c);
        right[k]![1]++;
      });
      operationFetches(
        r.response,
        groups[i]!.map((p) => p.question),
      ).forEach(([a, b], k) => {
        fetched[k]![0] += a;
        fetched[k]![1] += b;
      });
      tokens += r.tokens;
      loops += countLoops(r.response);
    });
    const hits = right.reduce((s, [a]) => s + a, 0),
      trials = right.reduce((s, [, b]) => s + b, 0);
    return {
      n,
      groups: groups.length,
      accuracy: hits / trials,
      accuracyByPosition: right.map(share),
      tokensPerProblem: tokens / groups.length / n,
      loopsPerProblem: loops / groups.length / n,
      fetchByPosition: fetched.map(share),
      samples: results.map((r) => ({ prompt: r.packed.text, response: r.response })),
    };
  });
}

/** The rows as text; with `show`, the first `show` prompts and responses of each N too. */
export function formatPackedLookup(rows: readonly PackedLookupRow[], show = 0): string[] {
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" ");
  return rows.flatMap((r) => [
    ...r.samples.slice(0, show).map((s) => `  ${JSON.stringify(s.prompt)}\n    -> ${s.response}`),
    `N=${r.n}  accuracy ${r.accuracy.toFixed(3)}  by position ${fmt(r.accuracyByPosition)}  tokens/problem ${r.tokensPerProblem.toFixed(1)}  ` +
      `loops/problem ${r.loopsPerProblem.toFixed(2)}  fetch by position ${fmt(r.fetchByPosition)}`,
  ]);
}
