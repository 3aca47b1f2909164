/**
 * Where export-dataset gets its problems.
 * - synthetic: src/tasks generateProblems(seed, count, levels); difficulty = level.
 * - problems:  a JSONL (or JSON array) file of {question, answer, id?, difficulty?} records.
 * - gsm8k, math: the src/data loaders.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Problem } from "../bcr/types.js";
import { loadGsm8k, loadMath } from "../data/index.js";
import { generateProblems } from "../tasks/index.js";

export type SourceName = "synthetic" | "problems" | "gsm8k" | "math";
export const SOURCES: readonly SourceName[] = ["synthetic", "problems", "gsm8k", "math"];

export interface SourceOptions { source: SourceName; file?: string; count?: number; levels?: number[]; seed: number }

export async function loadProblems(opts: SourceOptions): Promise<Problem[]> {
  switch (opts.source) {
    case "synthetic":
      return generateProblems(opts.seed, opts.count ?? 3000, opts.levels ?? [1, 2, 3, 4]);
    case "problems":
      return readProblemsFile(need(opts));
    case "gsm8k":
      return loadGsm8k(need(opts));
    case "math":
      return loadMath(need(opts));
  }
}

function need(opts: SourceOptions): string {
  if (!opts.file) throw new Error(`--source ${opts.source} needs --file`);
  return opts.file;
}

export function readProblemsFile(file: string): Problem[] {
  const text = fs.readFileSync(file, "utf8");
  const records: unknown[] = text.trimStart().startsWith("[")
    ? JSON.parse(text) as unknown[]
    : text.split("\n").filter((l) => l.trim() !== "").map((l, i) => {
      try { return JSON.parse(l); } catch (e) { throw new Error(`${file}:${i + 1}: malformed JSON line: ${(e as Error).message}`); }
    });
  return records.map((r, i) => {
    const o = r as Record<string, unknown>;
    if (typeof o?.question !== "string" || (typeof o.answer !== "string" && typeof o.answer !== "number")) {
      throw new Error(`${file}: record ${i + 1} needs string "question" and "answer"`);
    }
    const p: Problem = { id: typeof o.id === "string" ? o.id : `${path.basename(file)}-${i}`, question: o.question, answer: String(o.answer) };
    if (typeof o.difficulty === "number") p.difficulty = o.difficulty;
    return p;
  });
}

