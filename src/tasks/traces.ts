import type { Rng } from "../util/rng.js";
import { solveSteps, stepText } from "./synthetic.js";

/**
 * Solution traces in the compact response language, one per problem (the `k:` header and the
 * space between problems are added by the packing):
 * - essential: one step per operation with the running value, then the answer:
 *     `a47+8=55 b55-15=40 c40+6=46 A46`
 * - redundant: the essential steps plus re-checks of steps already done, the stand-in for
 *   "wait, let me double-check"; they never change the answer, only cost tokens:
 *     `a47+8=55 b55-15=40 chk a47+8=55 c40+6=46 chk b55-15=40 A46`
 * - shortcut: the answer alone, `A46` (right for a small model only on easy problems).
 *
 * Each step starts with its operation's letter (a = first operation, b = second, ...). Why: the
 * model has to fetch the j-th operation of problem k from the prompt; with the letter written
 * down, j is the token right before, and problem k sits in a fixed column (see COMPACT_COLUMN),
 * so the fetch is a lookup at a fixed place. Without letters the 2-layer SFT model had to count
 * steps since the section began, and lost count in every section but the first (greedy accuracy
 * after 600 SFT steps: 0.88 at N=1, 0.33 at N=2, 0.17 at N=3). Measured since: letters did not
 * fix it either (after 700 steps N=2 0.31, N=3 0.25; second problem 0.12); see the README.
 */
export type TraceStyle = "essential" | "redundant" | "shortcut";
export const TRACE_STYLES: readonly TraceStyle[] = ["essential", "redundant", "shortcut"];

/** The word that marks a redundant re-check. */
export const LOOP_MARK = "chk";

export interface TraceOptions {
  /** Re-checks in a redundant trace, inclusive range (default [1, 3]). */
  loops?: [number, number];
}

export function trace(question: string, answer: string, style: TraceStyle, rng: Rng, opts: TraceOptions = {}): string {
  if (style === "shortcut") return `A${answer}`;
  const steps = solveSteps(question).map((s, j) => stepLabel(j) + stepText(s));
  if (style === "essential") return [...steps, `A${answer}`].join(" ");
  const [lo, hi] = opts.loops ?? [1, 3];
  const count = rng.int(lo, hi);
  // re-check j sits after step `at` (0-based) and repeats one of the steps 0..at
  const after = new Map<number, string[]>();
  for (let j = 0; j < count; j++) {
    const at = rng.int(0, steps.length - 1);
    const repeated = steps[rng.int(0, at)]!;
    after.set(at, [...(after.get(at) ?? []), `${LOOP_MARK} ${repeated}`]);
  }
  const out: string[] = [];
  steps.forEach((s, i) => out.push(s, ...(after.get(i) ?? [])));
  out.push(`A${answer}`);
  return out.join(" ");
}

/**
 * Redundant loops in any response: the number of `chk` re-check marks (as a word, so text such as
 * `xchk` does not count). This is the measure for the claim that loops disappear under BCR.
 */
export function countLoops(response: string): number {
  let n = 0;
  for (const _ of response.matchAll(/(?<![A-Za-z])chk(?![A-Za-z])/g)) n++;
  return n;
}

/** The letter that starts the trace step of operation j (0-based): a, b, ..., z. */
export function stepLabel(j: number): string {
  if (!Number.isInteger(j) || j < 0 || j >= 26) throw new Error(`stepLabel: operation index must be 0..25, got ${j}`);
  return String.fromCharCode(97 + j);
}
