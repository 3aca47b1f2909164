/** Real math data sets (GSM8K, MATH-500) as Problem[]. Files come from scripts/download-datasets.sh. */
export { loadMathProblems, loadGsm8k, loadMath, gsm8kFinal, lastBoxed } from "./math.js";
export type { MathFormat } from "./math.js";
export { loadProblemsFile } from "./problems-file.js";
export type { ProblemsFileOptions } from "./problems-file.js";

/** Where scripts/download-datasets.sh puts the files, relative to the repository root. */
export const DATASET_FILES = {
  gsm8kTest: "datasets/gsm8k/test.jsonl",
  gsm8kTrain: "datasets/gsm8k/train.jsonl",
  math500: "datasets/math500/test.jsonl",
} as const;
