import type { PackedPrompt, Problem, TemplateName } from "./types.js";

/**
 * Prompt templates. A packed prompt puts N problems in one context; the response must answer
 * each one, marking which problem an answer belongs to.
 *
 * compact (synthetic, char-level, every character in SYNTH_CHARS):
 *   prompt    `1:47+8-15+6   2:9-3        ` + blank columns + `\n`  (questions padded to COMPACT_COLUMN, at least
 *             COMPACT_MIN_COLUMNS columns, newline ends it)
 *   response  `1:a47+8=55 b55-15=40 c40+6=46 A46 2:f9-3=6 A6`  (section `k:` per problem, lettered steps, answer `A<value>`)
 * natural (real models), following the paper's packing:
 *   an instruction line, then `### Problem k` sections; answers as `Answer k: \boxed{...}`.
 */
export const TEMPLATES: readonly TemplateName[] = ["compact", "natural"];

export function packProblems(problems: Problem[], opts: { template?: TemplateName } = {}): PackedPrompt {
  const template = opts.template ?? "compact";
  if (problems.length === 0) throw new Error("packProblems: need at least one problem");
  const text = template === "compact" ? compactPrompt(problems) : naturalPrompt(problems);
  return {
    text,
    n: problems.length,
    ids: problems.map((p) => p.id),
    golds: problems.map((p) => p.answer),
    template,
  };
}

/**
 * Width every compact question is right-padded to: the longest digit-chain question (5 operations,
 * `9-1+2-3+4-5`) is 11 characters. With N <= 9 every problem then sits in a 14-character column
 * (`k:`, 11, one space), so problem k's j-th operation is at a fixed place in the prompt.
 *
 * Why: the model organism is a 2-layer char model with learned absolute positions. It finds the
 * next operand by position; with unaligned problems that position depends on every earlier
 * problem's length, and the SFT model copied operands from the wrong problem (greedy accuracy
 * 0.90 at N=1 but 0.29 at N=2 and 0.25 at N=3 on the same 48 test problems). Measured since:
 * columns alone did not fix it (after 700 SFT steps, N=2 0.42 and N=3 0.25; problems after the
 * first still near chance); see the README.
 * Questions longer than COMPACT_COLUMN (some at levels 1-4) are not padded: one space follows them.
 */
export const COMPACT_COLUMN = 11;

/**
 * Compact prompts with fewer problems than this are padded with blank columns (spaces) up to
 * this many, so for every N <= COMPACT_MIN_COLUMNS the response starts at the same position (when
 * every question fits COMPACT_COLUMN, as digit chains do).
 *
 * Why: without it, the 2-layer model organism fetched problem 1's operations right 81% of the time
 * at N=1 but 31-57% at N=2..4 after 500 SFT steps, though problem 1 sits in the same place: it had
 * tied the fetch to where the response starts, which moved with N. With the padding (same data
 * and model), problem 1's fetch was right 95-97% of the time at every N <= 4 after 600 steps and
 * 100% after 1,000, its greedy accuracy 0.96-1.00. Problems 2-4 stay hard (fetch 0.12-0.46,
 * accuracy 0.16-0.22 after 1,000 steps): see the README.
 * Larger N (the sweep goes to 8) make longer prompts, as before.
 */
export const COMPACT_MIN_COLUMNS = 4;

/** Characters one compact column takes: `k:`, the padded question, one space. */
const COMPACT_COLUMN_WIDTH = 2 + COMPACT_COLUMN + 1;

function compactPrompt(problems: Problem[]): string {
  const columns = problems.map((p, i) => `${i + 1}:${p.question.padEnd(COMPACT_COLUMN)}`).join(" ");
  const blank = Math.max(0, COMPACT_MIN_COLUMNS - problems.length) * COMPACT_COLUMN_WIDTH;
  return columns + " ".repeat(blank) + "\n";
}

function naturalPrompt(problems: Problem[]): string {
  const n = problems.length;
  const head =
    n === 1
      ? 'Solve the following problem. Reason step by step, then give the final answer as "Answer 1: \\boxed{...}".'
      : `Solve the following ${n} problems in order. For each problem k, reason step by step under the heading "### Problem k", ` +
        `then give its final answer on its own line as "Answer k: \\boxed{...}". Answer every problem.`;
  const body = problems.map((p, i) => `### Problem ${i + 1}\n${p.question.trim()}`).join("\n\n");
  return `${head}\n\n${body}\n`;
}

/** The answer line for problem k (1-based) in a template's response language. */
export function formatAnswer(k: number, value: string, template: TemplateName = "compact"): string {
  if (template === "compact") {
    if (/\s/.test(value))
      throw new Error(`formatAnswer: compact answers cannot contain whitespace: ${JSON.stringify(value)}`);
    return `${k}:A${value}`;
  }
  return `### Problem ${k}\nAnswer ${k}: \\boxed{${value}}`;
}

/**
 * A response that gives exactly the given answers, no reasoning: the shape a perfect terse model
 * would produce. `order` (0-based problem indices) writes the sections in another order.
 */
export function answersOnlyResponse(values: string[], template: TemplateName = "compact", order?: number[]): string {
  const idx = order ?? values.map((_, i) => i);
  const parts = idx.map((i) => formatAnswer(i + 1, values[i]!, template));
  return parts.join(template === "compact" ? " " : "\n\n");
}

/**
 * Adds a target-length instruction to a packed prompt (L1/LCPO puts the budget in the prompt).
 * natural: "Think for n tokens." before the problems; compact: `L<n> ` in front of the prompt.
 */
export function withTargetLength(prompt: PackedPrompt, targetLength: number): PackedPrompt {
  const n = Math.round(targetLength);
  if (!(n > 0)) throw new Error(`withTargetLength: target must be a positive number of tokens, got ${targetLength}`);
  const text = prompt.template === "compact" ? `L${n} ${prompt.text}` : `Think for ${n} tokens.\n${prompt.text}`;
  return { ...prompt, text };
}

/**
 * The target stated for a pack of N problems when a run's target is per problem (this project's
 * L1 runs): `perProblem * N` tokens, via withTargetLength. Training prompts, the in-training eval
 * and the reproduction's eval all state it this way.
 */
export function withTargetPerProblem(prompt: PackedPrompt, perProblem: number): PackedPrompt {
  return withTargetLength(prompt, perProblem * prompt.n);
}
