/**
 * `loadRuns`: the logged training metrics of every RL run as one arquero table, one row per logged
 * step (columns experiment, method, sft_seed, rl_seed, step, then one column per metric, null
 * where a step did not log it), or in long form (`{ long: true }`: experiment, method, sft_seed,
 * rl_seed, step, metric, value; one row per finite number).
 *
 * Sources, found anywhere under the folder given (or one file given directly):
 *   - run folders: a `config.json` naming a `method` (RL runs; SFT runs name none and are
 *     skipped) beside `metrics.jsonl` (or `metrics.jsonl.gz`); experiment = the folder holding
 *     `rl/` (`runs/reproduce/rl/bcr/seed-1` read from `runs` is "reproduce");
 *   - a results folder's archive, `eval-rows.jsonl.gz`: its `run` lines (the metrics the archive
 *     keeps, ARCHIVED_METRICS in src/reproduce/archive.ts); read from `docs/history`,
 *     `docs/history/<exp>/` is experiment <exp>.
 * Several records of one step (a training record and an eval record) are merged into one row, a
 * later value of a metric replacing an earlier one; a record without `step` takes its index in the
 * file (as metricCurve does). `rl_seed` is the config's `seed`; `sft_seed` its `sftSeed` (or
 * `sft_seed`), 0 when absent. Rows are ordered by experiment, method, seeds and step.
 *
 * `asRuns` turns the wide table back into one Run per (experiment, method, sft_seed, rl_seed), for
 * what takes runs (stabilityTable, gradientFigure, trainingCurvesFigure, metricCurve), so those
 * work from an archive as from run folders.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import * as fs from "node:fs";
import * as path from "node:path";
import { RUN_FILES } from "../run/files.js";
import { compareIds } from "../analysis/nested.js";
import type { MetricRow, Run } from "../analysis/stability.js";
import { experimentOf, findFiles, need, type Obj, optional, readRecords } from "./read.js";

/** The columns before the metrics, in order. */
export const RUN_COLUMNS = ["experiment", "method", "sft_seed", "rl_seed", "step"] as const;

export interface RunKey {
  experiment: string;
  method: string;
  sft_seed: number;
  rl_seed: number;
}

/** One run's logged steps, each a record of metric -> number. */
export interface RunSteps extends RunKey {
  steps: { step: number; metrics: Record<string, number> }[];
}

export interface LoadRunsOptions {
  /** One row per (run, step, metric) with columns `metric` and `value` instead of a column per metric. */
  long?: boolean;
  /** The experiment name for every run (default: from each folder, see the header). */
  experiment?: string;
}

const ARCHIVES = ["eval-rows.jsonl.gz", "eval-rows.jsonl"];
const METRICS = [RUN_FILES.metrics, `${RUN_FILES.metrics}.gz`];

/** Every RL run's logged steps under `dir` as an arquero table (see the header for the two forms). */
export async function loadRuns(dir: string, opts: LoadRunsOptions = {}): Promise<ColumnTable> {
  const runs = await readRunSteps(dir, opts);
  return opts.long ? longTable(runs) : wideTable(runs);
}

/** The runs of `loadRuns` before they become a table. */
export async function readRunSteps(dir: string, opts: LoadRunsOptions = {}): Promise<RunSteps[]> {
  if (!fs.existsSync(dir)) throw new Error(`loadRuns: ${dir} does not exist`);
  const single = !fs.statSync(dir).isDirectory();
  const files = single ? [dir] : findFiles(dir, (name) => ARCHIVES.includes(name) || METRICS.includes(name));
  const runs: RunSteps[] = [];
  for (const file of files) {
    const name = path.basename(file);
    if (METRICS.includes(name)) {
      const run = await runFolder(file, opts.experiment ?? (single ? "default" : experimentOf(dir, file, "rl")));
      if (run) runs.push(run);
      continue;
    }
    const experiment = opts.experiment ?? (single ? "default" : experimentOf(dir, file));
    for (const { where, value } of await readRecords(file)) {
      if (value.kind !== "run") continue;
      const config = need(value, "config", "object", where);
      runs.push({
        ...keyOf(config, experiment, `${where}: config`),
        steps: mergeSteps(need(value, "metrics", "array", where), where),
      });
    }
  }
  if (runs.length === 0)
    throw new Error(
      `loadRuns: no RL run under ${dir} (a run folder's config.json with a method beside ${RUN_FILES.metrics}, or an archive's run lines)`,
    );
  return runs.sort(
    (a, b) =>
      compareIds(a.experiment, b.experiment) ||
      compareIds(a.method, b.method) ||
      a.sft_seed - b.sft_seed ||
      a.rl_seed - b.rl_seed,
  );
}

function keyOf(config: Obj, experiment: string, where: string): RunKey {
  return {
    experiment,
    method: need(config, "method", "string", where),
    sft_seed: optional(config, "sftSeed", "number", where, optional(config, "sft_seed", "number", where, 0)),
    rl_seed: need(config, "seed", "number", where),
  };
}

/** A run folder from its metrics file; null for an SFT run (its config names no method). */
async function runFolder(metricsFile: string, experiment: string): Promise<RunSteps | null> {
  const configFile = path.join(path.dirname(metricsFile), RUN_FILES.config);
  if (!fs.existsSync(configFile)) return null; // a metrics file outside a run folder
  const [config] = await readRecords(configFile);
  if (!config || !("method" in config.value)) return null;
  const records = await readRecords(metricsFile);
  return {
    ...keyOf(config.value, experiment, config.where),
    steps: mergeSteps(
      records.map((r) => r.value),
      metricsFile,
      records.map((r) => r.where),
    ),
  };
}

/** Records merged by step, in step order; only finite numbers are kept as metrics. */
function mergeSteps(records: unknown[], where: string, places?: string[]): RunSteps["steps"] {
  const byStep = new Map<number, Record<string, number>>();
  records.forEach((rec, i) => {
    const at = places?.[i] ?? `${where}: metrics[${i}]`;
    if (typeof rec !== "object" || rec === null || Array.isArray(rec)) throw new Error(`${at}: expected an object`);
    const r = rec as Obj;
    const step = optional(r, "step", "number", at, i);
    const metrics = byStep.get(step) ?? {};
    for (const [k, v] of Object.entries(r))
      if (k !== "step" && typeof v === "number" && Number.isFinite(v)) metrics[k] = v;
    byStep.set(step, metrics);
  });
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([step, metrics]) => ({ step, metrics }));
}

function wideTable(runs: RunSteps[]): ColumnTable {
  const names: string[] = [];
  const seen = new Set<string>(RUN_COLUMNS);
  for (const r of runs)
    for (const s of r.steps)
      for (const k of Object.keys(s.metrics))
        if (!seen.has(k)) {
          seen.add(k);
          names.push(k);
        }
  const cols: Record<string, unknown[]> = {};
  for (const c of [...RUN_COLUMNS, ...names]) cols[c] = [];
  for (const r of runs)
    for (const s of r.steps) {
      cols.experiment!.push(r.experiment);
      cols.method!.push(r.method);
      cols.sft_seed!.push(r.sft_seed);
      cols.rl_seed!.push(r.rl_seed);
      cols.step!.push(s.step);
      for (const k of names) cols[k]!.push(s.metrics[k] ?? null);
    }
  return aq.table(cols);
}

function longTable(runs: RunSteps[]): ColumnTable {
  const cols: Record<string, unknown[]> = Object.fromEntries(
    [...RUN_COLUMNS, "metric", "value"].map((c) => [c, [] as unknown[]]),
  );
  for (const r of runs)
    for (const s of r.steps)
      for (const [metric, value] of Object.entries(s.metrics)) {
        cols.experiment!.push(r.experiment);
        cols.method!.push(r.method);
        cols.sft_seed!.push(r.sft_seed);
        cols.rl_seed!.push(r.rl_seed);
        cols.step!.push(s.step);
        cols.metric!.push(metric);
        cols.value!.push(value);
      }
  return aq.table(cols);
}

/**
 * The wide table of `loadRuns` (or any table with its key columns and `step`) as Run records, one
 * per (experiment, method, sft_seed, rl_seed) in order of first appearance: config
 * { method, seed: rl_seed, sftSeed: sft_seed }, metrics one row per step without the null cells.
 * `dir` is "" and `name` is "<method>/seed-<rl_seed>" (with the SFT seed and experiment when they
 * vary), since a table has no folder.
 */
export function asRuns(table: ColumnTable): Run[] {
  const missing = ["method", "rl_seed", "step"].filter((c) => !table.columnNames().includes(c));
  if (missing.length)
    throw new Error(`asRuns: no column ${missing.join(", ")} (a wide table of loadRuns; not the { long: true } form)`);
  const metricCols = table.columnNames().filter((c) => !(RUN_COLUMNS as readonly string[]).includes(c));
  const rows = table.objects() as Record<string, unknown>[];
  const experiments = new Set(rows.map((r) => r.experiment ?? null));
  const sftSeeds = new Set(rows.map((r) => r.sft_seed ?? 0));
  const runs = new Map<string, Run>();
  for (const r of rows) {
    const key = JSON.stringify([r.experiment ?? null, r.method, r.sft_seed ?? 0, r.rl_seed]);
    let run = runs.get(key);
    if (!run) {
      const method = String(r.method);
      const sft = Number(r.sft_seed ?? 0);
      const seed = Number(r.rl_seed);
      const name = [
        ...(experiments.size > 1 ? [String(r.experiment)] : []),
        method,
        ...(sftSeeds.size > 1 ? [`sft-${sft}`] : []),
        `seed-${seed}`,
      ].join("/");
      run = { dir: "", name, config: { method, seed, sftSeed: sft }, metrics: [] };
      runs.set(key, run);
    }
    const m: MetricRow = { step: Number(r.step) };
    for (const c of metricCols) {
      const v = r[c];
      if (typeof v === "number" && Number.isFinite(v)) m[c] = v;
    }
    run.metrics.push(m);
  }
  return [...runs.values()];
}
