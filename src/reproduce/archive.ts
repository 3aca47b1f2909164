/**
 * <out>/eval-rows.jsonl.gz (the default run's: docs/history/ladder/): what the analysis stage
 * reads, kept beside the results so that `bcr reproduce --only analysis,report` re-judges every
 * claim from a clean clone, without the runs folder (no training, no evaluation). Why: a reader
 * should be able to check a verdict from the repository alone (rigor.md, "Checkable").
 *
 * gzip JSONL, one object a line, in this order:
 *   {"kind":"meta","format":1,"derived":...,"wall":...}  derived settings and data statistics;
 *                                                        the stage times of the run that made it
 *   {"kind":"eval", ...ModelEval}                         per-sample eval rows of one model
 *   {"kind":"run","name","config","metrics"}             one RL run: its method, seed, kind and
 *                                                        shaping, and the logged metrics that
 *                                                        claim 4 and the training figures use
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import type { MetricRow, Run } from "../analysis/stability.js";
import { writeFileAtomic } from "../util/fsx.js";
import type { ModelEval } from "./eval.js";

export const EVAL_ARCHIVE = "eval-rows.jsonl.gz";

/** The metrics kept per RL run (stabilityTable and the training figures read these). */
export const ARCHIVED_METRICS = [
  "eval/accuracy",
  "eval/tokens_per_problem",
  "reward/accuracy",
  "length/mean",
  "grad/cos_acc_len",
  "grad/norm",
  "adv/neg_correct_frac",
] as const;

export interface ArchiveMeta {
  derived: unknown;
  wall: Record<string, number>;
}
export interface EvalArchive {
  meta: ArchiveMeta;
  evals: ModelEval[];
  runs: Run[];
}

function slimRun(r: Run): { name: string; config: Record<string, unknown>; metrics: MetricRow[] } {
  const c = r.config as Record<string, unknown>;
  const config = Object.fromEntries(["method", "seed", "kind", "shaping"].filter((k) => k in c).map((k) => [k, c[k]]));
  const metrics = r.metrics.flatMap((m) => {
    const kept = Object.fromEntries(
      ARCHIVED_METRICS.filter((k) => m[k] !== undefined && m[k] !== null).map((k) => [k, m[k]]),
    );
    return Object.keys(kept).length
      ? [{ ...(m.step !== undefined ? { step: m.step } : {}), ...kept } as MetricRow]
      : [];
  });
  return { name: r.name, config, metrics };
}

export function writeEvalArchive(file: string, a: EvalArchive): void {
  const lines = [
    JSON.stringify({ kind: "meta", format: 1, ...a.meta }),
    ...a.evals.map((e) => JSON.stringify({ kind: "eval", ...e })),
    ...a.runs.map((r) => JSON.stringify({ kind: "run", ...slimRun(r) })),
  ];
  // level 9 and no file name or time in the header: the same rows give the same bytes
  writeFileAtomic(file, gzipSync(Buffer.from(lines.join("\n") + "\n"), { level: 9 }));
}

export function readEvalArchive(file: string): EvalArchive {
  let text: string;
  try {
    text = gunzipSync(fs.readFileSync(file)).toString("utf8");
  } catch (e) {
    throw new Error(`${file}: not a readable gzip file (${(e as Error).message})`);
  }
  let meta: ArchiveMeta | null = null;
  const evals: ModelEval[] = [];
  const runs: Run[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${file}: line ${i + 1} is not JSON`);
    }
    const { kind, ...rest } = o;
    if (kind === "meta") {
      if (rest.format !== 1)
        throw new Error(`${file}: line ${i + 1}: unknown format ${String(rest.format)} (this code reads format 1)`);
      meta = { derived: rest.derived, wall: (rest.wall ?? {}) as Record<string, number> };
    } else if (kind === "eval") {
      if (typeof rest.method !== "string" || !Array.isArray(rest.n1) || !Array.isArray(rest.sweep))
        throw new Error(`${file}: line ${i + 1}: an eval line needs method, n1 and sweep`);
      evals.push(rest as unknown as ModelEval);
    } else if (kind === "run") {
      const c = rest.config as Run["config"] | undefined;
      if (typeof rest.name !== "string" || !c || typeof c.method !== "string" || !Array.isArray(rest.metrics))
        throw new Error(`${file}: line ${i + 1}: a run line needs name, config.method and metrics`);
      runs.push({
        dir: path.join(path.dirname(file), "(archived)", rest.name),
        name: rest.name,
        config: c,
        metrics: rest.metrics as MetricRow[],
      });
    } else {
      throw new Error(`${file}: line ${i + 1}: unknown kind ${JSON.stringify(kind)}`);
    }
  });
  if (!meta) throw new Error(`${file}: no meta line`);
  if (evals.length === 0) throw new Error(`${file}: no eval rows`);
  return { meta, evals, runs };
}
