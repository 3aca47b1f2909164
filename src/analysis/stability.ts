/**
 * Gradient-stability analysis of training runs (claim 4: an explicit length penalty collapses
 * training, the implicit budget of BCR does not).
 *
 * Input: run folders as in docs/architecture.md (config.json with at least {method, seed};
 * metrics.jsonl, one object per step, keys such as `eval/accuracy`, `grad/norm`,
 * `grad/cos_acc_len`, `adv/neg_correct_frac`).
 *
 * Collapse (per run): let s = the first logged `eval/accuracy`. The run collapsed when
 * accuracy falls below `fraction * s` (default half) and stays below it for every later
 * evaluation up to the end; the onset is the step of the first evaluation of that final
 * below-threshold stretch. A run whose start accuracy is 0 cannot collapse by this definition.
 *
 * Verdict (per method): `stable` when no seed collapsed and the mean final accuracy keeps at
 * least `minRetention` (default 0.8) of the mean start accuracy. The verdict carries the numbers
 * it rests on in `reasons`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readJsonl, subdirectories } from "../util/fsx.js";
import { runFile } from "../run/files.js";
import { bootstrapMeanCI, median, type BootstrapOptions } from "./bootstrap.js";

export type MetricRow = Record<string, number | null | undefined> & { step?: number };

export interface RunConfig {
  method: string;
  seed: number;
  [key: string]: unknown;
}

export interface Run {
  dir: string;
  /** Folder name, e.g. "linear-s1". */
  name: string;
  config: RunConfig;
  metrics: MetricRow[];
}

export interface Curve {
  steps: number[];
  values: number[];
}

export interface CollapseResult {
  collapsed: boolean;
  /** Step at which the final below-threshold stretch begins; null when not collapsed. */
  onsetStep: number | null;
  startValue: number;
  threshold: number;
  finalValue: number;
  minValue: number;
}

export interface RunSummary {
  run: string;
  method: string;
  seed: number;
  steps: number;
  startAccuracy: number | null;
  finalAccuracy: number | null;
  minAccuracy: number | null;
  collapsed: boolean;
  onsetStep: number | null;
  meanCosAccLen: number | null;
  negativeCosShare: number | null;
  meanNegCorrectFrac: number | null;
  gradNormMedian: number | null;
  gradNormMax: number | null;
}

export interface MethodStability {
  method: string;
  runs: number;
  startAccuracy: { mean: number; ci: [number, number] } | null;
  finalAccuracy: { mean: number; ci: [number, number] } | null;
  /** Lowest eval accuracy seen in any seed. */
  minAccuracy: number | null;
  collapsed: number;
  total: number;
  /** Onset steps of the collapsed seeds. */
  onsetSteps: number[];
  meanCosAccLen: number | null;
  /** Share of logged steps (all seeds pooled) with grad/cos_acc_len < 0. */
  negativeCosShare: number | null;
  meanNegCorrectFrac: number | null;
  gradNormMedian: number | null;
  gradNormMax: number | null;
  stable: boolean;
  reasons: string[];
}

export interface StabilityOptions extends BootstrapOptions {
  /** Collapse threshold as a fraction of the start accuracy (default 0.5). */
  fraction?: number;
  /** Share of start accuracy the mean final accuracy must keep to be called stable (default 0.8). */
  minRetention?: number;
}

/** Read one run folder. Errors name the folder and the missing or malformed piece. */
export function readRun(dir: string): Run {
  const cfgFile = runFile(dir, "config");
  if (!fs.existsSync(cfgFile)) throw new Error(`${dir}: not a run folder (no config.json)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
  } catch (e) {
    throw new Error(`${cfgFile}: malformed JSON: ${(e as Error).message}`);
  }
  const cfg = raw as Partial<RunConfig>;
  if (typeof cfg !== "object" || cfg === null || typeof cfg.method !== "string")
    throw new Error(`${cfgFile}: field method: expected a string`);
  if (typeof cfg.seed !== "number") throw new Error(`${cfgFile}: field seed: expected a number`);
  const mFile = runFile(dir, "metrics");
  const metrics = fs.existsSync(mFile) ? readJsonl<MetricRow>(mFile) : [];
  return { dir, name: path.basename(dir), config: cfg as RunConfig, metrics };
}

/**
 * Read run folders: `root` itself when it is a run folder, otherwise every folder below it
 * (depth <= 3) holding a config.json, sorted by path. Folders whose config has no `method`
 * (SFT runs) are skipped; a malformed config.json or a `method` that is not a string throws.
 */
export function readRuns(root: string): Run[] {
  if (fs.existsSync(runFile(root, "config"))) return hasMethod(root) ? [readRun(root)] : [];
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const name of subdirectories(dir)) {
      const p = path.join(dir, name);
      if (fs.existsSync(runFile(p, "config"))) found.push(p);
      else if (depth < 3) walk(p, depth + 1);
    }
  };
  walk(root, 1);
  return found.sort().filter(hasMethod).map(readRun);
}

/**
 * Whether a folder's config.json names a method (RL runs do; SFT runs do not, and readRuns skips
 * them). Malformed JSON throws, naming the file.
 */
function hasMethod(dir: string): boolean {
  const file = runFile(dir, "config");
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: malformed JSON: ${(e as Error).message}`);
  }
  return typeof raw === "object" && raw !== null && "method" in raw;
}

/** (step, value) pairs of one metric, only where it is a finite number; step defaults to the row index. */
export function metricCurve(run: Pick<Run, "metrics">, metric: string): Curve {
  const steps: number[] = [],
    values: number[] = [];
  run.metrics.forEach((row, i) => {
    const v = row[metric];
    if (typeof v === "number" && Number.isFinite(v)) {
      steps.push(typeof row.step === "number" ? row.step : i);
      values.push(v);
    }
  });
  return { steps, values };
}

/** Collapse detection on an accuracy curve (see the header for the definition). */
export function detectCollapse(curve: Curve, opts?: { fraction?: number }): CollapseResult {
  const fraction = opts?.fraction ?? 0.5;
  const v = curve.values;
  if (v.length === 0) throw new Error("detectCollapse: empty curve");
  const startValue = v[0]!;
  const threshold = fraction * startValue;
  let onset = -1;
  for (let i = v.length - 1; i >= 1 && v[i]! < threshold; i--) onset = i;
  const collapsed = startValue > 0 && onset >= 1;
  return {
    collapsed,
    onsetStep: collapsed ? curve.steps[onset]! : null,
    startValue,
    threshold,
    finalValue: v[v.length - 1]!,
    minValue: Math.min(...v),
  };
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export function summarizeRun(run: Run, opts?: { fraction?: number }): RunSummary {
  const acc = metricCurve(run, "eval/accuracy");
  const col = acc.values.length ? detectCollapse(acc, opts) : null;
  const cos = metricCurve(run, "grad/cos_acc_len").values;
  const norm = metricCurve(run, "grad/norm").values;
  const neg = metricCurve(run, "adv/neg_correct_frac").values;
  const steps = run.metrics.length;
  return {
    run: run.name,
    method: run.config.method,
    seed: run.config.seed,
    steps,
    startAccuracy: col?.startValue ?? null,
    finalAccuracy: col?.finalValue ?? null,
    minAccuracy: col?.minValue ?? null,
    collapsed: col?.collapsed ?? false,
    onsetStep: col?.onsetStep ?? null,
    meanCosAccLen: avg(cos),
    negativeCosShare: cos.length ? cos.filter((c) => c < 0).length / cos.length : null,
    meanNegCorrectFrac: avg(neg),
    gradNormMedian: norm.length ? median(norm) : null,
    gradNormMax: norm.length ? Math.max(...norm) : null,
  };
}

const f3 = (x: number) => Number(x.toPrecision(3)).toString();

/** Per-method stability table aggregating seeds (methods in first-seen order). */
export function stabilityTable(runs: Run[], opts?: StabilityOptions): MethodStability[] {
  const minRetention = opts?.minRetention ?? 0.8;
  const byMethod = new Map<string, Run[]>();
  for (const r of runs) {
    const list = byMethod.get(r.config.method) ?? [];
    list.push(r);
    byMethod.set(r.config.method, list);
  }
  const out: MethodStability[] = [];
  for (const [method, group] of byMethod) {
    const sums = group.map((r) => summarizeRun(r, opts));
    const withAcc = sums.filter((s) => s.startAccuracy !== null);
    const ci = (xs: number[]) => (xs.length ? bootstrapMeanCI(xs, opts) : null);
    const start = ci(withAcc.map((s) => s.startAccuracy!));
    const final = ci(withAcc.map((s) => s.finalAccuracy!));
    const cos = group.flatMap((r) => metricCurve(r, "grad/cos_acc_len").values);
    const norm = group.flatMap((r) => metricCurve(r, "grad/norm").values);
    const neg = group.flatMap((r) => metricCurve(r, "adv/neg_correct_frac").values);
    const collapsed = sums.filter((s) => s.collapsed);
    const reasons: string[] = [];
    let stable = true;
    if (!start || !final) {
      stable = false;
      reasons.push("no eval/accuracy logged: stability cannot be judged");
    } else {
      reasons.push(
        `${collapsed.length}/${sums.length} seeds collapsed` +
          (collapsed.length ? ` (onset steps ${collapsed.map((s) => s.onsetStep).join(", ")})` : ""),
      );
      if (collapsed.length > 0) stable = false;
      const keep = start.mean > 0 ? final.mean / start.mean : 1;
      reasons.push(
        `final accuracy ${f3(final.mean)} [${f3(final.ci[0])}, ${f3(final.ci[1])}] vs start ${f3(start.mean)} ` +
          `(${f3(100 * keep)}% kept, threshold ${f3(100 * minRetention)}%)`,
      );
      if (keep < minRetention) stable = false;
    }
    if (cos.length)
      reasons.push(
        `grad/cos_acc_len mean ${f3(avg(cos)!)}, negative on ${f3((100 * cos.filter((c) => c < 0).length) / cos.length)}% of steps`,
      );
    if (norm.length) reasons.push(`grad/norm median ${f3(median(norm))}, max ${f3(Math.max(...norm))}`);
    const accs = withAcc.map((s) => s.minAccuracy!);
    out.push({
      method,
      runs: group.length,
      startAccuracy: start,
      finalAccuracy: final,
      minAccuracy: accs.length ? Math.min(...accs) : null,
      collapsed: collapsed.length,
      total: sums.length,
      onsetSteps: collapsed.map((s) => s.onsetStep!),
      meanCosAccLen: avg(cos),
      negativeCosShare: cos.length ? cos.filter((c) => c < 0).length / cos.length : null,
      meanNegCorrectFrac: avg(neg),
      gradNormMedian: norm.length ? median(norm) : null,
      gradNormMax: norm.length ? Math.max(...norm) : null,
      stable,
      reasons,
    });
  }
  return out;
}

/** Flatten a stability table into plain rows (CI as _lo/_hi columns) for CSV / markdown. */
export function stabilityRows(table: MethodStability[]): Record<string, string | number | boolean | null>[] {
  return table.map((m) => ({
    method: m.method,
    seeds: m.total,
    start_acc: m.startAccuracy?.mean ?? null,
    start_acc_lo: m.startAccuracy?.ci[0] ?? null,
    start_acc_hi: m.startAccuracy?.ci[1] ?? null,
    final_acc: m.finalAccuracy?.mean ?? null,
    final_acc_lo: m.finalAccuracy?.ci[0] ?? null,
    final_acc_hi: m.finalAccuracy?.ci[1] ?? null,
    min_acc: m.minAccuracy,
    collapsed: `${m.collapsed}/${m.total}`,
    "grad/cos_acc_len": m.meanCosAccLen,
    neg_cos_share: m.negativeCosShare,
    "adv/neg_correct_frac": m.meanNegCorrectFrac,
    grad_norm_median: m.gradNormMedian,
    grad_norm_max: m.gradNormMax,
    stable: m.stable,
  }));
}
