import type { Rng } from "../util/rng.js";
import { solveSteps, stepText } from "./synthetic.js";

/**
 * Solution traces in the compact response language, one per problem (the `k:` header and the
 * space between problems are added by the packing):
 * - essential: one step per operation with the running value, then the answer:
 *     `47+8=55 55-15=40 40+6=46 A46`
 * - redundant: the essential steps plus re-checks of steps already done, the stand-in for
 *   "wait, let me double-check"; they never change the answer, only cost tokens:
 *     `47+8=55 55-15=40 chk 47+8=55 40+6=46 chk 55-15=40 A46`
 * - shortcut: the answer alone, `A46` (right for a small model only on easy problems).
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
  const steps = solveSteps(question).map(stepText);
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
