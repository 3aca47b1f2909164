/**
 * Where export-dataset gets its problems.
 * - synthetic: src/tasks generateProblems(seed, count, levels); difficulty = level.
 * - problems:  a JSONL (or JSON array) file of {question, answer, id?, difficulty?} records.
 * - gsm8k, math: the src/data loaders, looked up at run time (see loadFromDataModule).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Problem } from "../bcr/types.js";
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
    case "math":
      return loadFromDataModule(opts.source, need(opts));
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

/**
 * The GSM8K / MATH loaders live in src/data (another part of the toolkit). They are looked up
 * at run time so this module builds whether or not they exist yet: any exported function whose
 * name is load<Gsm8k|Math>... taking a file path and returning Problem[] (or a promise of it).
 */
async function loadFromDataModule(source: "gsm8k" | "math", file: string): Promise<Problem[]> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = ["index.ts", "index.js"].map((f) => path.join(here, "../data", f)).filter((f) => fs.existsSync(f));
  if (candidates.length === 0) throw new Error(`--source ${source}: the src/data loaders are not available; convert the file to {question, answer} JSONL and use --source problems`);
  const mod = (await import(pathToFileURL(candidates[0]!).href)) as Record<string, unknown>;
  const want = source === "gsm8k" ? /^load_?gsm8k/i : /^load_?math/i;
  const name = Object.keys(mod).find((k) => want.test(k) && typeof mod[k] === "function");
  if (!name) throw new Error(`--source ${source}: src/data exports no load${source === "gsm8k" ? "Gsm8k" : "Math"}* function (exports: ${Object.keys(mod).join(", ")})`);
  const problems = await (mod[name] as (f: string) => Problem[] | Promise<Problem[]>)(file);
  if (!Array.isArray(problems)) throw new Error(`--source ${source}: ${name}(file) did not return an array of problems`);
  return problems;
}
