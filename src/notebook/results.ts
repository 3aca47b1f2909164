/**
 * What `bcr reproduce` committed (or wrote) to its out folder (docs/history/ladder/ for the
 * default run), read back for the notebooks' full mode: the run's name, commit and settings from
 * summary.json (among them the rule its scaling fits were ranked by), every tables/*.csv, and the
 * N-sweep as task-scaling series with their 95% intervals and truncation rates. Read only;
 * nothing is trained.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aq from "arquero";
import type { Row } from "../analysis/tables.js";
import { isSmokeTest } from "../run/smoke.js";
import type { TaskScalingSeries } from "../eval/sweep.js";

/** A method's sweep as tables/sweep.csv gives it: the task-scaling series and, where recorded, the share of responses cut by the budget per N. */
export type SweepSeries = TaskScalingSeries & { truncationRate?: number[] };

/** How the run fitted its scaling laws (summary.json's config.analysis): notebook 03 fits the same way. */
export interface FitSettings {
  /** The criterion that ranks the forms ("aicc" unless the run's config said otherwise). */
  fitBy: "aic" | "aicc" | "bic";
  /** Bootstrap resamples and their seed. */
  bootstrap: number;
  seed: number;
}

/** The defaults of the reproduce config's analysis section (src/reproduce/config.ts). */
export const DEFAULT_FIT_SETTINGS: FitSettings = { fitBy: "aicc", bootstrap: 1000, seed: 0 };

export interface ReproduceResults {
  /** The folder read (e.g. `../docs/history/ladder`). */
  dir: string;
  /** The reproduce config's name ("reproduce" for the default run). */
  name: string;
  /** The commit the run was made from, when recorded. */
  commit: string | null;
  /** Where its runs were (`runs/reproduce`): per-step logs and checkpoints, not committed. */
  runsDir: string | null;
  seeds: number[];
  /** A quick config: numbers that exercise the code, not results. */
  smokeTest: boolean;
  /** Every tables/<name>.csv as rows (numbers parsed). */
  tables: Record<string, Row[]>;
  /** tables/sweep.csv per method, in file order, with 95% intervals per point and the truncation rate where recorded. */
  series: SweepSeries[];
  /** The run's rule for the scaling fits (criterion, bootstrap), from its resolved config. */
  fit: FitSettings;
  /** figures/<name>.png present. */
  figures: string[];
  /** One line for a notebook's first output: which run this is. */
  describe: string;
}

/** Reads a results folder; null when it holds no summary.json (nothing reproduced there). */
export function readResults(dir: string): ReproduceResults | null {
  const summaryFile = path.join(dir, "summary.json");
  if (!fs.existsSync(summaryFile)) return null;
  let summary: {
    name?: string;
    git_commit?: string;
    runs_dir?: string;
    seeds?: number[];
    config?: { analysis?: Partial<FitSettings> };
  };
  try {
    summary = JSON.parse(fs.readFileSync(summaryFile, "utf8"));
  } catch (e) {
    throw new Error(`${summaryFile}: not valid JSON (${(e as Error).message})`);
  }
  const tablesDir = path.join(dir, "tables");
  const tables: Record<string, Row[]> = {};
  for (const f of fs.existsSync(tablesDir)
    ? fs
        .readdirSync(tablesDir)
        .filter((x) => x.endsWith(".csv"))
        .sort()
    : []) {
    const file = path.join(tablesDir, f);
    try {
      tables[f.slice(0, -4)] = aq.fromCSV(fs.readFileSync(file, "utf8")).objects() as Row[];
    } catch (e) {
      throw new Error(`${file}: cannot be read as CSV (${(e as Error).message})`);
    }
  }
  const figDir = path.join(dir, "figures");
  const figures = fs.existsSync(figDir)
    ? fs
        .readdirSync(figDir)
        .filter((f) => f.endsWith(".png"))
        .map((f) => f.slice(0, -4))
        .sort()
    : [];
  const name = summary.name ?? "unknown";
  const commit = summary.git_commit ?? null;
  const seeds = summary.seeds ?? [];
  const smokeTest = isSmokeTest({ name });
  const a = summary.config?.analysis ?? {};
  const fit: FitSettings = {
    fitBy: a.fitBy === "aic" || a.fitBy === "bic" || a.fitBy === "aicc" ? a.fitBy : DEFAULT_FIT_SETTINGS.fitBy,
    bootstrap: typeof a.bootstrap === "number" ? a.bootstrap : DEFAULT_FIT_SETTINGS.bootstrap,
    seed: typeof a.seed === "number" ? a.seed : DEFAULT_FIT_SETTINGS.seed,
  };
  return {
    dir,
    name,
    commit,
    runsDir: summary.runs_dir ?? null,
    seeds,
    smokeTest,
    tables,
    series: sweepSeries(tables.sweep ?? [], path.join(tablesDir, "sweep.csv")),
    fit,
    figures,
    describe:
      `${smokeTest ? "SMOKE TEST, NOT A RESULT: " : ""}results of the '${name}' run in ${dir}` +
      `${commit ? ` (commit ${commit.slice(0, 7)}` : " ("}${seeds.length ? `, RL seeds ${seeds.join(", ")}` : ""}), read from its summary.json and tables/`,
  };
}

const SWEEP_COLUMNS = [
  "method",
  "n",
  "accuracy",
  "accuracy_lo",
  "accuracy_hi",
  "tokens_per_problem",
  "tokens_lo",
  "tokens_hi",
];

/**
 * Rows of tables/sweep.csv grouped by method into series with intervals; with a truncation_rate
 * column (the share of responses cut by the budget at each N), the series carry it too, and
 * taskScalingFigure draws it beside tokens per problem.
 */
export function sweepSeries(rows: Row[], file = "sweep.csv"): SweepSeries[] {
  const out = new Map<string, SweepSeries & { tokensCi: [number, number][]; accuracyCi: [number, number][] }>();
  const truncation = rows.length > 0 && rows.every((r) => "truncation_rate" in r);
  // A column with one bad cell is read as text by the CSV parser: numbers are checked cell by cell.
  const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN);
  rows.forEach((raw, i) => {
    const r: Row = { ...raw };
    for (const c of SWEEP_COLUMNS) {
      if (c !== "method") r[c] = num(raw[c]);
      const ok = c === "method" ? typeof r[c] === "string" && r[c] !== "" : Number.isFinite(r[c]);
      if (!ok)
        throw new Error(
          `${file}: row ${i + 2}, column ${c}: expected ${c === "method" ? "a method name" : "a number"}, got ${JSON.stringify(raw[c] ?? null)}`,
        );
    }
    const m = r.method as string;
    const s = out.get(m) ?? { method: m, ns: [], tokensPerProblem: [], accuracy: [], tokensCi: [], accuracyCi: [] };
    s.ns.push(r.n as number);
    s.accuracy.push(r.accuracy as number);
    s.tokensPerProblem.push(r.tokens_per_problem as number);
    s.accuracyCi.push([r.accuracy_lo as number, r.accuracy_hi as number]);
    s.tokensCi.push([r.tokens_lo as number, r.tokens_hi as number]);
    if (truncation) {
      const t = num(raw.truncation_rate);
      if (!Number.isFinite(t))
        throw new Error(
          `${file}: row ${i + 2}, column truncation_rate: expected a number, got ${JSON.stringify(raw.truncation_rate ?? null)}`,
        );
      s.truncationRate = [...(s.truncationRate ?? []), t];
    }
    out.set(m, s);
  });
  return [...out.values()];
}
