/**
 * `summarize`: the mean of a value per group of any grouping columns, with its hierarchical
 * bootstrap interval (src/analysis/nested.ts), as a table:
 *
 *   summarize(rows, { by: ["method", "n"], value: "correct" })
 *   -> method, n, mean, lo, hi, n_problems, n_seeds   (one row per group, groups in sorted order)
 *
 * Inside a group the rows form the three levels of the study's design:
 *   SFT unit  = the row's (experiment, sft_seed),     resampled first when there are several;
 *   RL unit   = the row's (method, rl_seed) within it, resampled next, within each SFT unit;
 *   problem   = the row's problem, drawn once per resample and shared by every unit;
 * and every row of one (SFT unit, RL unit, problem) is averaged inside the problem (its samples,
 * and a problem met in several sweep groups). Columns the table lacks drop out of a unit's key
 * (`units` names others); without a problem column every row of a unit is its own problem,
 * numbered in row order (one row per run and step: a bootstrap over seeds alone). The mean is
 * the mean over SFT units of the mean over their RL units of the mean over problems: with one unit
 * and one sample per problem, the plain mean. `correct` (booleans) counts true as 1; rows whose
 * value is null are left out (loops of sweep rows); another non-number throws.
 *
 * Every unit of a group must hold the same problems (the shared draw pairs them); the error names
 * the group and the cell that misses some.
 */
import { nestedFromRows, nestedMeanCI, compareIds, type Id, type LongRow } from "../analysis/nested.js";
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import type { TableLike } from "../analysis/tables.js";

export interface SummarizeOptions {
  /** Grouping columns: one output row per distinct combination (none: one row for all). */
  by?: readonly string[];
  /** The column to average (numbers or booleans). */
  value: string;
  /** Interval level (default 0.95). */
  level?: number;
  /** Bootstrap resamples (default 1000) and the Rng seed (default 0), as in src/analysis/bootstrap.ts. */
  resamples?: number;
  seed?: number;
  /** The columns that identify an SFT model, an RL run and a problem (defaults in the header). */
  units?: { sft?: readonly string[]; rl?: readonly string[]; problem?: string };
}

/** The result's own columns, after the `by` columns. */
export const SUMMARY_COLUMNS = ["mean", "lo", "hi", "n_problems", "n_seeds"] as const;

type Row = Record<string, unknown>;

/** The rows of an arquero table or an array of objects (px.ts reads tables the same way). */
export function rowsOf(data: TableLike): Row[] {
  return Array.isArray(data) ? (data as Row[]) : ((data as ColumnTable).objects() as Row[]);
}

export function columnsOf(data: TableLike, rows: Row[]): Set<string> {
  if (!Array.isArray(data)) return new Set((data as ColumnTable).columnNames());
  return new Set(rows.flatMap((r) => Object.keys(r)));
}

/** Sort order for group keys: numbers, then strings (compareIds), then booleans, null last. */
export function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null || v === undefined ? 3 : typeof v === "boolean" ? 2 : 0);
  const ra = rank(a),
    rb = rank(b);
  if (ra !== rb || ra === 3) return ra - rb;
  if (ra === 2) return Number(a) - Number(b);
  return compareIds(a as Id, b as Id);
}

/** Mean and hierarchical interval of `value` per group; see the header. */
export function summarize(data: TableLike, opts: SummarizeOptions): ColumnTable {
  const by = opts.by ?? [];
  const rows = rowsOf(data);
  const columns = columnsOf(data, rows);
  for (const c of [...by, opts.value])
    if (!columns.has(c)) throw new Error(`summarize: no column "${c}" (columns: ${[...columns].join(", ")})`);
  const present = (cs: readonly string[]) => cs.filter((c) => columns.has(c));
  const sftCols = present(opts.units?.sft ?? ["experiment", "sft_seed"]);
  const rlCols = present(opts.units?.rl ?? ["method", "rl_seed"]);
  const problemCol = opts.units?.problem ?? "problem";
  const hasProblem = columns.has(problemCol);

  const groups = new Map<string, { keys: unknown[]; rows: Row[] }>();
  rows.forEach((r, i) => {
    const v = r[opts.value];
    if (v === null || v === undefined) return;
    if (typeof v !== "boolean" && !(typeof v === "number" && Number.isFinite(v)))
      throw new Error(`summarize: row ${i}: "${opts.value}" is ${JSON.stringify(v)}, not a number or boolean`);
    const keys = by.map((c) => r[c] ?? null);
    const k = JSON.stringify(keys);
    const g = groups.get(k) ?? { keys, rows: [] };
    g.rows.push(r);
    groups.set(k, g);
  });

  const sorted = [...groups.values()].sort((a, b) => {
    for (let i = 0; i < by.length; i++) {
      const c = compareValues(a.keys[i], b.keys[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
  const out: Record<string, unknown[]> = Object.fromEntries([...by, ...SUMMARY_COLUMNS].map((c) => [c, []]));
  for (const g of sorted) {
    const where = by.length ? `group ${by.map((c, i) => `${c}=${JSON.stringify(g.keys[i])}`).join(", ")}` : "all rows";
    let nested: ReturnType<typeof nestedFromRows>;
    try {
      nested = nestedFromRows(longRows(g.rows, opts.value, sftCols, rlCols, hasProblem ? problemCol : null));
    } catch (e) {
      throw new Error(`summarize (${where}): ${(e as Error).message}`);
    }
    const ci = nestedMeanCI(nested.values, { level: opts.level, resamples: opts.resamples, seed: opts.seed });
    by.forEach((c, i) => out[c]!.push(g.keys[i]));
    out.mean!.push(ci.mean);
    out.lo!.push(ci.ci[0]);
    out.hi!.push(ci.ci[1]);
    out.n_problems!.push(nested.problems.length);
    out.n_seeds!.push(nested.rlSeeds.reduce((s, r) => s + r.length, 0));
  }
  return aq.table(out);
}

/**
 * A unit's id from the columns that vary inside the group: the number itself when one numeric
 * column varies (seeds order as numbers), else `col=value` pairs (readable in nested.ts's errors:
 * `method="bcr" rl_seed=1`); "all" when none varies.
 */
function unitKey(rows: Row[], cols: readonly string[]): (r: Row) => Id {
  const varying = cols.filter((c) => new Set(rows.map((r) => JSON.stringify(r[c] ?? null))).size > 1);
  if (varying.length === 0) return () => "all";
  const [only] = varying;
  if (varying.length === 1 && rows.every((r) => typeof r[only!] === "number")) return (r) => r[only!] as number;
  return (r) => varying.map((c) => `${c}=${JSON.stringify(r[c] ?? null)}`).join(" ");
}

/** A group's rows as nested.ts's long rows: units keyed by their columns, repeats numbered as samples. */
function longRows(
  rows: Row[],
  value: string,
  sftCols: readonly string[],
  rlCols: readonly string[],
  problemCol: string | null,
): LongRow[] {
  const sftKey = unitKey(rows, sftCols);
  const rlKey = unitKey(rows, rlCols);
  const perCell = new Map<string, number>();
  const perProblem = new Map<string, number>();
  return rows.map((r) => {
    const sft_seed = sftKey(r);
    const rl_seed = rlKey(r);
    const cell = JSON.stringify([sft_seed, rl_seed]);
    const inCell = perCell.get(cell) ?? 0;
    perCell.set(cell, inCell + 1);
    const problem: Id = problemCol === null ? inCell : String(r[problemCol]);
    const k = JSON.stringify([cell, problem]);
    const sample = perProblem.get(k) ?? 0;
    perProblem.set(k, sample + 1);
    return { sft_seed, rl_seed, problem, sample, value: Number(r[value]) };
  });
}
