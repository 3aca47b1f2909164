/**
 * The one reader of problem files: eval sweeps (`bcr sweep --data`), `bcr diagnose`,
 * `bcr export-dataset --source problems` and RL's `task.trainFile` all read through it, so a
 * file one of them accepts, all accept.
 *
 * File: JSONL, one JSON object per line (blank lines skipped), or one JSON array of objects
 * (the first non-blank character is `[`).
 *
 * Record: a JSON object, one of two forms (other fields are ignored):
 * - a problem: {"question": string, "answer": string | number, "id"?: string, "difficulty"?: number}
 *   ("difficulty" is used when it is a number, else ignored). A number answer is written as its decimal string (`12` -> "12"); the answer is the gold as it is.
 * - GSM8K's: {"question": string, "answer": "...reasoning...\n#### 18"} with no string "id": the
 *   gold is the text after the last `####`, thousands separators removed (`#### 1,450,000` ->
 *   "1450000"); difficulty = the number of calculator annotations `<<...>>` (solution steps), a
 *   rough but monotone proxy. A record with a string "id" is always the first form.
 * ids: "id" when it is a string, else `<file name without .jsonl/.json>-<k>`, k the 0-based index
 *   of the record in the file (blank lines not counted).
 *
 * Errors name the file and the 1-based line of the original file (`file.jsonl:12: ...`), also
 * for a JSON array (the line its element starts on). A file with no records is an error.
 * MATH-style files ({problem, solution}) have their own reader (math.ts, `--source math`).
 */
import * as path from "node:path";
import type { Problem } from "../bcr/types.js";
import { gsm8kFinal } from "./math.js";
import { readRecords } from "./records.js";

export interface ProblemsFileOptions {
  /** Keep the first `limit` problems (the whole file is still checked). */
  limit?: number;
}

export function loadProblemsFile(file: string, opts: ProblemsFileOptions = {}): Problem[] {
  const stem = path.basename(file).replace(/\.jsonl?$/, "");
  const problems = readRecords(file, { allowArray: true }).map((r, k) =>
    toProblem(r.value, `${stem}-${k}`, `${file}:${r.line}`),
  );
  return opts.limit !== undefined ? problems.slice(0, opts.limit) : problems;
}

function toProblem(rec: unknown, fallbackId: string, where: string): Problem {
  if (typeof rec !== "object" || rec === null || Array.isArray(rec))
    throw new Error(`${where}: expected a JSON object`);
  const r = rec as Record<string, unknown>;
  if (typeof r.question !== "string") throw new Error(`${where}: field "question" must be a string`);
  const answer = typeof r.answer === "number" && Number.isFinite(r.answer) ? String(r.answer) : r.answer;
  if (typeof answer !== "string") throw new Error(`${where}: field "answer" must be a string or a number`);
  const gold = typeof r.id !== "string" ? gsm8kFinal(answer) : null;
  if (gold !== null) {
    const steps = (answer.match(/<<[^>]*>>/g) ?? []).length;
    return { id: fallbackId, question: r.question, answer: gold, difficulty: steps };
  }
  const p: Problem = { id: typeof r.id === "string" ? r.id : fallbackId, question: r.question, answer };
  if (typeof r.difficulty === "number") p.difficulty = r.difficulty;
  return p;
}
