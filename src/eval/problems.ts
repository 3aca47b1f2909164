/**
 * Problem sets for sweeps from a JSONL file, one object per line, either
 *   - our Problem shape: {"id", "question", "answer", "difficulty"?}, or
 *   - GSM8K's: {"question", "answer": "...reasoning...\n#### 18"}: the gold is the text after
 *     "####" with thousands separators removed; id `<file stem>-<line index>`; difficulty = the
 *     number of calculator annotations `<<...>>` (solution steps), a rough but monotone proxy.
 */
import * as path from "node:path";
import { readJsonl } from "../util/fsx.js";
import type { Problem } from "../bcr/index.js";
import { gsm8kFinal } from "../data/math.js";

export function loadProblemsFile(file: string, opts: { limit?: number } = {}): Problem[] {
  const stem = path.basename(file).replace(/\.jsonl?$/, "");
  const raw = readJsonl<Record<string, unknown>>(file);
  const out = raw.slice(0, opts.limit ?? raw.length).map((r, i) => toProblem(r, `${stem}-${i}`, `${file}:${i + 1}`));
  return out;
}

function toProblem(r: Record<string, unknown>, fallbackId: string, where: string): Problem {
  if (typeof r.question !== "string" || typeof r.answer !== "string") {
    throw new Error(`${where}: expected string fields "question" and "answer"`);
  }
  const gold = typeof r.id !== "string" ? gsm8kFinal(r.answer) : null;
  if (gold !== null) {
    const steps = (r.answer.match(/<<[^>]*>>/g) ?? []).length;
    return { id: fallbackId, question: r.question, answer: gold, difficulty: steps };
  }
  const p: Problem = { id: typeof r.id === "string" ? r.id : fallbackId, question: r.question, answer: r.answer };
  if (typeof r.difficulty === "number") p.difficulty = r.difficulty;
  return p;
}
