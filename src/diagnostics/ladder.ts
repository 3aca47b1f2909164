/**
 * The compression ladder table: how accurate a model is in each trace form, and what each form
 * costs in tokens. Needed before a ladder run means anything (issue 20): the forms must be a real
 * accuracy-for-length trade-off, each shorter and somewhat less accurate than the one above it.
 *
 * Forced rows: the N=1 response is made to start in the form (the prefix becomes part of the
 * prompt and is counted in the response's tokens), then decoded:
 *   essential  `1:a<first value>`  (the first value is in the question: nothing is given away)
 *   terse      `1:a=`
 *   shortcut   `1:A`
 * Bare values cannot be forced by a prefix without writing the first result for the model, so
 * the bare rung is measured by choice: "chosen" rows split the unforced responses by the style
 * traceStyleOf names (a problem's chosen form is biased by which problems the model picks it for;
 * ladder-probe.md). Accuracy comes from scoreResponse; steps from scoreTrace.
 */
import { deriveSeed } from "../util/rng.js";
import { packProblems } from "../bcr/templates.js";
import { scoreResponse } from "../bcr/score.js";
import type { Problem } from "../bcr/types.js";
import type { CompletionModel } from "../model/completion.js";
import { solveSteps } from "../tasks/synthetic.js";
import { scoreTrace, traceStyleOf } from "../tasks/traces.js";

export interface LadderRow {
  form: string;
  /** "forced": the response started in the form; "chosen": unforced responses in that style. */
  how: "forced" | "chosen" | "free";
  responses: number;
  accuracy: number;
  tokensPerProblem: number;
  /** Share of written steps (any form, re-checks left out) that are right; NaN without steps. */
  stepsRight: number;
}

export const FORCED_FORMS: readonly { form: string; prefix: (question: string) => string }[] = [
  { form: "essential", prefix: (q) => `1:a${solveSteps(q)[0]?.a ?? ""}` },
  { form: "terse", prefix: () => "1:a=" },
  { form: "shortcut", prefix: () => "1:A" },
];

interface Scored {
  style: string;
  correct: boolean;
  tokens: number;
  right: number;
  steps: number;
}

function summarise(form: string, how: LadderRow["how"], xs: Scored[]): LadderRow {
  const mean = (v: (s: Scored) => number) => xs.reduce((a, s) => a + v(s), 0) / xs.length;
  const steps = xs.reduce((a, s) => a + s.steps, 0);
  return {
    form,
    how,
    responses: xs.length,
    accuracy: mean((s) => Number(s.correct)),
    tokensPerProblem: mean((s) => s.tokens),
    stepsRight: steps ? xs.reduce((a, s) => a + s.right, 0) / steps : NaN,
  };
}

/**
 * The ladder table of `model` on `problems` at N=1: one forced row per FORCED_FORMS entry, one
 * free row (unforced), and one chosen row per style the unforced responses were written in.
 * Greedy by default (temperature 0); `samples` > 1 repeats every request, each draw with its own
 * seed (deriveSeed of the forced prefix, the problem and the draw), so no two requests share a stream.
 */
export async function ladderTable(
  model: CompletionModel,
  problems: readonly Problem[],
  opts: { budget: number; temperature?: number; samples?: number },
): Promise<LadderRow[]> {
  if (problems.length === 0) throw new Error("ladderTable: no problems");
  const samples = opts.samples ?? 1;
  const run = async (prefix: (q: string) => string): Promise<Scored[]> => {
    const reqs = problems.flatMap((p) =>
      Array.from({ length: samples }, (_, sample) => {
        const pre = prefix(p.question);
        return { p, seed: deriveSeed("ladder", pre, p.id, sample), prefix: pre };
      }),
    );
    const out = await model.complete(
      reqs.map(({ p, seed, prefix: pre }) => ({
        prompt: packProblems([p]).text + pre,
        maxTokens: Math.max(1, opts.budget - pre.length),
        temperature: opts.temperature ?? 0,
        seed,
      })),
    );
    return reqs.map(({ p, prefix: pre }, i) => {
      const c = out[i]!;
      const response = pre + (c.finishReason === "error" ? "" : c.text);
      const score = scoreResponse(response, [p.answer], { truncated: c.finishReason === "length" });
      const section = response.replace(/^1:/, "");
      const st = scoreTrace(section, p.question, p.answer, 0).steps;
      const tally = Object.values(st).reduce((a, [r, n]) => [a[0] + r, a[1] + n], [0, 0]);
      return {
        style: traceStyleOf(section),
        correct: score.correct[0]!,
        tokens: pre.length + c.completionTokens,
        right: tally[0]!,
        steps: tally[1]!,
      };
    });
  };
  const rows: LadderRow[] = [];
  for (const f of FORCED_FORMS) rows.push(summarise(f.form, "forced", await run(f.prefix)));
  const free = await run(() => "");
  rows.push(summarise("any", "free", free));
  for (const style of [...new Set(free.map((s) => s.style))].sort())
    rows.push(
      summarise(
        style,
        "chosen",
        free.filter((s) => s.style === style),
      ),
    );
  return rows;
}

/** The ladder table as Markdown lines (steps right "-" where a form writes no steps). */
export function formatLadder(rows: readonly LadderRow[]): string[] {
  return [
    "| form | how | responses | accuracy | tokens/problem | steps right |",
    "|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.form} | ${r.how} | ${r.responses} | ${r.accuracy.toFixed(3)} | ${r.tokensPerProblem.toFixed(1)} | ${typeof r.stepsRight === "number" && Number.isFinite(r.stepsRight) ? r.stepsRight.toFixed(3) : "-"} |`,
    ),
  ];
}
