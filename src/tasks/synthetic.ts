import type { Problem } from "../bcr/types.js";
import { Rng } from "../util/rng.js";

/**
 * The synthetic reasoning task: a chain of + and - operations on small integers, e.g.
 * `47+8-15+6`, answer 46. Only + and - are used, so left-to-right evaluation and ordinary
 * precedence agree. Every intermediate value stays in 0..VALUE_MAX (= 199, at most 3 digits,
 * never negative), so a char-level model never needs a sign inside a trace.
 *
 * Lengths (compact template, N = 8, prompt + response, chars = tokens; see the task's tests):
 * essential traces average about 175 / 265 / 365 / 435 (max 505) at levels 1 / 2 / 3 / 4, so 8
 * problems with concise traces fit a 512-token context at every level, while redundant traces
 * (1-3 re-checks each, +200 chars at N = 8) average 340 / 465 / 570 / 650 and do not fit at
 * levels 3-4: the shared budget is what makes loops costly.
 *
 * Difficulty level (1..4) sets the number of operations and the operand ranges. A small
 * model can add two one-digit numbers "by heart", but a chain of 3-5 operations on two-digit
 * numbers needs the running value written down: that is what makes reasoning necessary.
 */
export const VALUE_MAX = 199;

export interface LevelConfig {
  /** Number of operations, inclusive range. */
  ops: [number, number];
  /** Starting value, inclusive range. */
  start: [number, number];
  /** Operand of each operation, inclusive range. */
  operand: [number, number];
  /** Largest value any running total may take (default VALUE_MAX). */
  max?: number;
}

export const LEVELS: Readonly<Record<number, LevelConfig>> = {
  1: { ops: [1, 2], start: [1, 9], operand: [1, 9] },
  2: { ops: [2, 2], start: [10, 99], operand: [1, 20] },
  3: { ops: [3, 3], start: [10, 99], operand: [1, 50] },
  4: { ops: [3, 4], start: [10, 150], operand: [1, 99] },
  // Digit chains: every value stays in 0..9, so each step is a small lookup a tiny model learns
  // in minutes, while the chain still has to be worked step by step (a shortcut answer must
  // compose 2-5 operations at once). The default model organism of `bcr reproduce` uses these.
  5: { ops: [2, 2], start: [0, 9], operand: [1, 9], max: 9 },
  6: { ops: [3, 3], start: [0, 9], operand: [1, 9], max: 9 },
  7: { ops: [4, 4], start: [0, 9], operand: [1, 9], max: 9 },
  8: { ops: [5, 5], start: [0, 9], operand: [1, 9], max: 9 },
};

export interface Step {
  a: number;
  op: "+" | "-";
  b: number;
  result: number;
}

export function levelConfig(level: number): LevelConfig {
  const c = LEVELS[level];
  if (!c) throw new Error(`unknown synthetic level ${level}; valid levels: ${Object.keys(LEVELS).join(", ")}`);
  return c;
}

/** One problem at `level`, drawn from rng. id is `syn-L<level>-<index>` unless given. */
export function generateProblem(rng: Rng, level: number, id = `syn-L${level}`): Problem {
  const c = levelConfig(level);
  const k = rng.int(c.ops[0], c.ops[1]);
  const max = c.max ?? VALUE_MAX;
  let v = rng.int(c.start[0], Math.min(c.start[1], max));
  let q = String(v);
  for (let i = 0; i < k; i++) {
    const canAdd = v + c.operand[0] <= max;
    const canSub = v - c.operand[0] >= 0;
    const op = canAdd && canSub ? (rng.next() < 0.5 ? "+" : "-") : canAdd ? "+" : "-";
    const hi = op === "+" ? Math.min(c.operand[1], max - v) : Math.min(c.operand[1], v);
    const b = rng.int(c.operand[0], hi);
    v = op === "+" ? v + b : v - b;
    q += op + b;
  }
  return { id, question: q, answer: String(v), difficulty: level };
}

/** Many problems, levels drawn uniformly from `levels`; ids `<prefix>-<i>`. */
export function generateProblems(seed: number, count: number, levels: readonly number[], prefix = "syn"): Problem[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, i) => generateProblem(rng, rng.pick(levels), `${prefix}-${i}`));
}

/** The steps of a synthetic question, evaluated left to right. Throws on anything else. */
export function solveSteps(question: string): Step[] {
  if (!/^\d+(?:[+-]\d+)+$/.test(question)) throw new Error(`not a synthetic question: ${JSON.stringify(question)}`);
  const tokens = question.match(/[+-]?\d+/g)!;
  let v = Number(tokens[0]);
  return tokens.slice(1).map((t) => {
    const op = t[0] as "+" | "-";
    const b = Number(t.slice(1));
    const step: Step = { a: v, op, b, result: op === "+" ? v + b : v - b };
    v = step.result;
    return step;
  });
}

export const stepText = (s: Step): string => `${s.a}${s.op}${s.b}=${s.result}`;
