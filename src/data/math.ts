import * as path from "node:path";
import { matchBrace } from "../bcr/extract.js";
import type { Problem } from "../bcr/types.js";
import { readRecords } from "./records.js";

/**
 * Loaders for real math data, one JSON object per line, into Problem[]:
 * - GSM8K: {question, answer}, the gold value follows `####` at the end of `answer`
 *   (thousands separators removed: `#### 1,450,000` -> "1450000").
 * - MATH / MATH-500: {problem, solution, answer?, level?, unique_id?}; the gold is `answer` when
 *   present, else the content of the last `\boxed{...}` in `solution` (brace-stack parsed).
 * A line that is not JSON, or lacks the fields, throws an Error naming the file and the 1-based line;
 * so does a file with no records (records.ts).
 * ids: `unique_id` when present, else `<file stem>-<line>`.
 */
export type MathFormat = "gsm8k" | "math" | "auto";

export function loadMathProblems(file: string, format: MathFormat = "auto"): Problem[] {
  const stem = path.basename(file).replace(/\.jsonl?$/, "");
  return readRecords(file).map((r) => toProblem(r.value, format, `${stem}-${r.line}`, `${file}:${r.line}`));
}

export const loadGsm8k = (file: string): Problem[] => loadMathProblems(file, "gsm8k");
export const loadMath = (file: string): Problem[] => loadMathProblems(file, "math");

function toProblem(rec: unknown, format: MathFormat, id: string, where: string): Problem {
  if (typeof rec !== "object" || rec === null || Array.isArray(rec))
    throw new Error(`${where}: expected a JSON object`);
  const r = rec as Record<string, unknown>;
  const kind = format !== "auto" ? format : "question" in r ? "gsm8k" : "problem" in r ? "math" : null;
  if (kind === null)
    throw new Error(`${where}: neither GSM8K ({question, answer}) nor MATH ({problem, solution}) fields`);
  if (kind === "gsm8k") {
    const question = str(r, "question", where);
    const answer = gsm8kFinal(str(r, "answer", where));
    if (answer === null) throw new Error(`${where}: GSM8K answer has no final value after '####'`);
    return { id: typeof r.id === "string" ? r.id : id, question, answer };
  }
  const question = str(r, "problem", where);
  let answer = typeof r.answer === "string" && r.answer.trim() !== "" ? r.answer.trim() : null;
  if (answer === null && typeof r.answer === "number") answer = String(r.answer);
  if (answer === null) answer = lastBoxed(str(r, "solution", where));
  if (answer === null) throw new Error(`${where}: MATH record has no 'answer' and no \\boxed{...} in 'solution'`);
  const p: Problem = { id: typeof r.unique_id === "string" ? r.unique_id : id, question, answer };
  const level = typeof r.level === "number" ? r.level : Number(/(\d+)/.exec(String(r.level ?? ""))?.[1]);
  if (Number.isFinite(level)) p.difficulty = level;
  return p;
}

function str(r: Record<string, unknown>, key: string, where: string): string {
  const v = r[key];
  if (typeof v !== "string" || v.trim() === "") throw new Error(`${where}: field '${key}' must be a non-empty string`);
  return v;
}

/** The value after the last `####`, thousands separators removed; null if there is none. */
export function gsm8kFinal(answer: string): string | null {
  const at = answer.lastIndexOf("####");
  if (at < 0) return null;
  const v = answer.slice(at + 4).trim();
  if (v === "") return null;
  return /^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(v) ? v.replace(/,/g, "") : v;
}

/** Content of the last complete `\boxed{...}` (or `\fbox{...}`), or null. */
export function lastBoxed(text: string): string | null {
  let last: string | null = null;
  for (const m of text.matchAll(/\\(?:boxed|fbox)\s*\{/g)) {
    const open = m.index! + m[0].length - 1;
    const close = matchBrace(text, open);
    if (close >= 0) last = text.slice(open + 1, close).trim();
  }
  return last;
}
