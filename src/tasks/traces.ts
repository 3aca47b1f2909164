import type { Rng } from "../util/rng.js";
import { solveSteps, stepText } from "./synthetic.js";
import { findSections } from "../bcr/extract.js";

/**
 * Solution traces in the compact response language, one per problem (the `k:` header and the
 * space between problems are added by the packing):
 * - essential: one step per operation with the running value, then the answer:
 *     `a47+8=55 b55-15=40 c40+6=46 A46`
 * - redundant: the essential steps plus re-checks of steps already done, the stand-in for
 *   "wait, let me double-check"; they never change the answer, only cost tokens:
 *     `a47+8=55 b55-15=40 chk a47+8=55 c40+6=46 chk b55-15=40 A46`
 * - shortcut: the answer alone, `A46` (right for a small model only on easy problems).
 * - merged: the essential steps, but a step may fold the next operations into itself and write
 *   only the value after the last of them: `a47+8-15=40 c40+6=46 A46`. Each fold saves the
 *   running value and the next step's symbol (about 4 tokens) at the price of doing two operations
 *   at once. Why: the other styles leave nothing between the essential trace and a guess, so a
 *   model under a budget cannot write a little less per problem; with merged steps it can
 *   (docs/packed-contexts.md, "Why tokens per problem cannot fall much here"). A merged step
 *   keeps the symbol of its first operation; operationFetches does not count merged steps.
 * - terse: the compression ladder's first rung below essential: each step names its operation by
 *   its symbol and writes only the result, operands not copied: `a=55 b=40 c=46 A46` (4 chars a
 *   step for 2-digit values against 7-9). The model must do the operation without copying it.
 * - bare: the rung below terse: the running values alone, no symbols: `55 40 46 A46`. The model
 *   must count the steps written so far to find the next operation (symbols are what spare it
 *   that); the `k:` section header still says which problem a value belongs to.
 *   Ladder, top to bottom: redundant > essential > terse > bare > shortcut, each shorter than the
 *   one above it (docs: /work/shared/reference/ladder-probe.md measured terse and bare at N=1).
 *
 * Each step starts with a symbol naming its operation, and the symbols are unique across the
 * problems of a pack: problem 1 uses a-e, problem 2 f-j, problem 3 k-o, ... (OPS_PER_BLOCK per
 * problem; STEP_SYMBOLS lists them). Why: the model has to fetch the j-th operation of problem k
 * from the prompt, where problem k sits in a fixed column (see COMPACT_COLUMN). With one symbol
 * naming both k and j, the fetch is a single lookup keyed by the token just written. Measured
 * before (2-layer SFT model, greedy): without symbols, 0.88 at N=1 but 0.33 at N=2 after 600
 * steps (it had to count steps since the section began); with a-e restarting in every problem,
 * N=2 0.31 and the second problem 0.12 after 700 steps (it had to combine the symbol with the
 * section number found further back). Measured since, with these symbols and the fixed-length
 * prompt (COMPACT_MIN_COLUMNS), after 1,000 steps: problem 1's operations are fetched right at every
 * N <= 4, problems 2-4's only 12-46% of the time (`bcr diagnose packed-lookup`): the symbols alone do
 * not teach the 2-layer model the fetch for later problems.
 *
 * A re-check repeats the step just done (`b55-15=40 chk b55-15=40`), so the step after it starts
 * from the value right before it, as after any step. Measured before: when a re-check repeated an
 * older step, the next step had to reach past it for its start value, sampled traces with
 * re-checks went wrong more often, and accuracy-only RL removed them within 40 steps (0.69 to
 * 0.03 loops per response): a re-check then cost accuracy, not only tokens.
 */
export type TraceStyle = "essential" | "redundant" | "shortcut" | "merged" | "terse" | "bare";
// New styles go last: SFT data draws a style by index, and a style absent from the mix has weight
// 0, so mixes without the new styles keep their draws (and data bytes).
export const TRACE_STYLES: readonly TraceStyle[] = ["essential", "redundant", "shortcut", "merged", "terse", "bare"];

/** Default chance that a merged-style step folds in the next operation. */
export const DEFAULT_MERGE = 0.5;

/** The word that marks a redundant re-check. */
export const LOOP_MARK = "chk";

export interface TraceOptions {
  /** Re-checks in a redundant trace, inclusive range (default [1, 3]). */
  loops?: [number, number];
  /** 0-based place of the problem in its pack; picks the block of step symbols (default 0). */
  position?: number;
  /** Merged style: chance that a step folds in the next operation, in [0, 1] (default DEFAULT_MERGE). */
  merge?: number;
}

export function trace(question: string, answer: string, style: TraceStyle, rng: Rng, opts: TraceOptions = {}): string {
  if (style === "shortcut") return `A${answer}`;
  const position = opts.position ?? 0;
  if (style === "terse")
    return [...solveSteps(question).map((s, j) => `${stepLabel(j, position)}=${s.result}`), `A${answer}`].join(" ");
  if (style === "bare") return [...solveSteps(question).map((s) => String(s.result)), `A${answer}`].join(" ");
  const steps = solveSteps(question).map((s, j) => stepLabel(j, position) + stepText(s));
  if (style === "essential") return [...steps, `A${answer}`].join(" ");
  if (style === "merged")
    return [...mergedSteps(question, position, rng, opts.merge ?? DEFAULT_MERGE), `A${answer}`].join(" ");
  const [lo, hi] = opts.loops ?? [1, 3];
  const count = rng.int(lo, hi);
  // each re-check sits after a random step and repeats that step
  const after = new Map<number, string[]>();
  for (let j = 0; j < count; j++) {
    const at = rng.int(0, steps.length - 1);
    after.set(at, [...(after.get(at) ?? []), `${LOOP_MARK} ${steps[at]!}`]);
  }
  const out: string[] = [];
  steps.forEach((s, i) => out.push(s, ...(after.get(i) ?? [])));
  out.push(`A${answer}`);
  return out.join(" ");
}

/** The merged style's steps: `a47+8-15=40`, each folding in the next operation with chance `merge`. */
function mergedSteps(question: string, position: number, rng: Rng, merge: number): string[] {
  if (!(merge >= 0 && merge <= 1)) throw new Error(`trace: merge must be in [0, 1], got ${merge}`);
  const ops = solveSteps(question);
  const out: string[] = [];
  for (let j = 0; j < ops.length; ) {
    let text = stepLabel(j, position) + `${ops[j]!.a}${ops[j]!.op}${ops[j]!.b}`;
    let last = j++;
    while (j < ops.length && rng.next() < merge) {
      text += `${ops[j]!.op}${ops[j]!.b}`;
      last = j++;
    }
    out.push(`${text}=${ops[last]!.result}`);
  }
  return out;
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

/**
 * The trace style one problem's section of a compact response was written in (the section's text
 * without its `k:` header, e.g. `a47+8-15=40 c40+6=46 A46`), by the longest step form present:
 * "merged" when any step does two or more operations, else "redundant" when it re-checks, else
 * "essential" when it has full steps, else "terse" when it has `a=55` steps, else "bare" when it
 * has bare values, else "shortcut" (an answer alone, or nothing). A section that mixes forms is
 * named by the longest one (parseTrace counts each step's form). For measuring which styles a
 * model writes after RL, and how accurate each is (`bcr diagnose trace-styles`, src/diagnostics/trace-styles.ts).
 */
export function traceStyleOf(section: string): TraceStyle {
  const steps = section.match(/(?<![A-Za-z])[a-zB-Z]\d+(?:[+-]\d+)+=/g) ?? [];
  if (steps.some((s) => (s.slice(1).match(/[+-]/g) ?? []).length >= 2)) return "merged";
  if (countLoops(section) > 0) return "redundant";
  if (steps.length > 0) return "essential";
  if (TERSE_STEP.test(section)) return "terse";
  return BARE_VALUE.test(section) ? "bare" : "shortcut";
}

const TERSE_STEP = /(?<=^|\s|:)[a-zB-Z]=\d+(?=\s|$)/;
const BARE_VALUE = /(?<=^|\s|:)\d+(?=\s|$)/;

/** One written step of a section, in any form. */
export interface ParsedStep {
  form: "full" | "merged" | "terse" | "bare";
  /** The step's symbol (null for a bare value). */
  symbol: string | null;
  /** The copied operations (`+8`, `-15`) of a full or merged step; empty for terse and bare. */
  ops: string[];
  /** The value the step wrote. */
  result: number;
  /** A re-check (after `chk`). */
  recheck: boolean;
}

/**
 * The steps and answer of one section (text after `k:`), any trace form or a mix of them:
 * full `a47+8=55`, merged `a47+8-15=40`, terse `a=55`, bare `55`, re-checks `chk <step>`, answer
 * `A<value>` (the last one wins, as in extractAnswers). Words of no form are skipped.
 */
export function parseTrace(section: string): { steps: ParsedStep[]; answer: string | null } {
  const steps: ParsedStep[] = [];
  let answer: string | null = null;
  let recheck = false;
  for (const word of section.split(/\s+/).filter(Boolean)) {
    if (word === LOOP_MARK) {
      recheck = true;
      continue;
    }
    let m: RegExpMatchArray | null;
    if ((m = word.match(/^A(\S+)$/))) answer = m[1]!;
    else if ((m = word.match(/^([a-zB-Z])(\d+)((?:[+-]\d+)+)=(\d+)$/))) {
      const ops = m[3]!.match(/[+-]\d+/g)!;
      steps.push({ form: ops.length > 1 ? "merged" : "full", symbol: m[1]!, ops, result: Number(m[4]), recheck });
    } else if ((m = word.match(/^([a-zB-Z])=(\d+)$/)))
      steps.push({ form: "terse", symbol: m[1]!, ops: [], result: Number(m[2]), recheck });
    else if ((m = word.match(/^(\d+)$/)))
      steps.push({ form: "bare", symbol: null, ops: [], result: Number(m[1]), recheck });
    recheck = false;
  }
  return { steps, answer };
}

/** Per-form tally of a section's steps checked against the problem: [right, written]. */
export type StepScore = Record<ParsedStep["form"], [number, number]>;

/**
 * Checks every step of a section (not re-checks) against the problem's own running values:
 * a step with a symbol must write the value after the operation its symbol names (stepLabel(j,
 * position)), and a full step must also copy that operation; a merged step the value after its
 * last folded operation; a bare value, having no symbol, is the value after the operation
 * counted by its place among the section's steps (the count a model without symbols must keep).
 */
export function scoreTrace(
  section: string,
  question: string,
  answer: string,
  position = 0,
): { steps: StepScore; answerRight: boolean } {
  const truth = solveSteps(question);
  const ops = truth.map((t) => `${t.op}${t.b}`);
  const score: StepScore = { full: [0, 0], merged: [0, 0], terse: [0, 0], bare: [0, 0] };
  const parsed = parseTrace(section);
  let next = 0; // operations covered by the steps so far, for bare values
  for (const st of parsed.steps.filter((x) => !x.recheck)) {
    const j = st.symbol === null ? next : STEP_SYMBOLS.indexOf(st.symbol) - OPS_PER_BLOCK * position;
    const last = j + Math.max(1, st.ops.length) - 1;
    const right =
      j >= 0 && last < truth.length && truth[last]!.result === st.result && st.ops.every((op, i) => ops[j + i] === op);
    score[st.form][1]++;
    if (right) score[st.form][0]++;
    next = Math.max(next, last + 1);
  }
  return { steps: score, answerRight: parsed.answer === answer };
}

/** Operations per problem that have their own symbol (the most any synthetic level uses). */
export const OPS_PER_BLOCK = 5;

/** Step symbols in order: a-z, then B-Z (A marks the answer). Enough for 10 problems per pack. */
export const STEP_SYMBOLS = "abcdefghijklmnopqrstuvwxyz" + "BCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * The symbol that starts the trace step of operation j (0-based) of the problem at `position`
 * (0-based) in its pack: a-e for the first problem, f-j for the second, ...
 */
export function stepLabel(j: number, position = 0): string {
  if (!Number.isInteger(j) || j < 0 || j >= OPS_PER_BLOCK)
    throw new Error(`stepLabel: operation index must be 0..${OPS_PER_BLOCK - 1}, got ${j}`);
  const blocks = Math.floor(STEP_SYMBOLS.length / OPS_PER_BLOCK);
  if (!Number.isInteger(position) || position < 0 || position >= blocks) {
    throw new Error(
      `stepLabel: pack position must be 0..${blocks - 1} (at most ${blocks} problems per pack), got ${position}`,
    );
  }
  return STEP_SYMBOLS[position * OPS_PER_BLOCK + j]!;
}

/**
 * How often a compact response's trace steps copy the right operation, per problem of the pack:
 * [right, total] for each of `questions`, counting the steps `<symbol><value><op><operand>=` of
 * section k+1 as right when op and operand are the operation that the step's symbol names
 * (stepLabel(j, k) -> the j-th operation of question k). Sections outside 1..questions.length are
 * ignored. The diagnostic for "can the model find a later problem's operations in the prompt".
 */
export function operationFetches(response: string, questions: readonly string[]): [number, number][] {
  const out = questions.map((): [number, number] => [0, 0]);
  const sections = findSections(response, "compact");
  for (const [i, { start, index }] of sections.entries()) {
    const k = index - 1;
    if (k < 0 || k >= questions.length) continue;
    const section = response.slice(start, sections[i + 1]?.start);
    const ops = questions[k]!.match(/[+-]\d+/g) ?? [];
    for (const step of section.matchAll(/(?:^|[ :])([a-zB-Z])\d+([+-]\d+)=/g)) {
      const j = STEP_SYMBOLS.indexOf(step[1]!) - OPS_PER_BLOCK * k;
      out[k]![1]++;
      if (j >= 0 && j < ops.length && ops[j] === step[2]) out[k]![0]++;
    }
  }
  return out;
}
