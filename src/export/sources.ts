/**
 * Where export-dataset gets its problems.
 * - synthetic: src/tasks generateProblems(seed, count, levels); difficulty = level.
 * - problems:  a JSONL (or JSON array) file read by src/data/problems-file.ts (the reader the
 *   eval sweeps use too): {question, answer, id?, difficulty?} records or GSM8K's.
 * - gsm8k, math: the src/data loaders.
 */
import type { Problem } from "../bcr/types.js";
import { loadGsm8k, loadMath } from "../data/index.js";
import { loadProblemsFile } from "../data/problems-file.js";
import { generateProblems } from "../tasks/index.js";

export type SourceName = "synthetic" | "problems" | "gsm8k" | "math";
export const SOURCES: readonly SourceName[] = ["synthetic", "problems", "gsm8k", "math"];

export interface SourceOptions {
  source: SourceName;
  file?: string;
  count?: number;
  levels?: number[];
  seed: number;
}

export async function loadProblems(opts: SourceOptions): Promise<Problem[]> {
  switch (opts.source) {
    case "synthetic":
      return generateProblems(opts.seed, opts.count ?? 3000, opts.levels ?? [1, 2, 3, 4]);
    case "problems":
      return loadProblemsFile(need(opts));
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
