/**
 * `loadEvalRows`: every evaluated sample of every model as one long arquero table, one row per
 * sample (the tidy form: a column per variable, a row per observation), whatever file it came from.
 *
 * Sources, found anywhere under the folder given (or one file given directly):
 *   - a results folder's archive, `eval-rows.jsonl.gz` (or `.jsonl`): its `eval` lines, one model
 *     each (`meta` and `run` lines are skipped); read from `docs/history`, the archive
 *     `docs/history/<exp>/eval-rows.jsonl.gz` is experiment <exp> (`ladder`, `essential`, ...);
 *   - a runs folder's `eval/<method>/[seed-<k>/]eval.json` (one model each), experiment = the
 *     folder holding `eval/` (`runs/reproduce` read from `runs` is "reproduce");
 *   - a regime study's `rows.jsonl.gz` (src/study/rows.ts: a meta line naming the columns, then
 *     one array per row), results/study/<id>/rows.jsonl.gz being experiment "study/<id>": arm is
 *     the method, set n1 / greedy / sweep the kind and decoding, and the continuation runs' rows
 *     (set cont) the method "<arm> (continued)" (another model: more RL steps from the same start);
 *   - sample rows already in this long form, one per line (a file named directly, e.g. a GSM8K
 *     endpoint's rows): `method`, `problem`, `correct` and `tokens` are required, the rest default
 *     as below.
 * One model's record becomes rows of three kinds: its N=1 eval (kind "n1", decoding "sampled"), its
 * greedy N=1 eval (kind "n1", decoding "greedy"), and its N-sweep (kind "sweep"). Sweep rows whose
 * request failed (`failed: true`, an endpoint error, no answer to score) are left out, as the
 * analysis stage leaves them out.
 *
 * Defaults for what older files do not record: `sample` 0 (evals made before samples were drawn
 * independently), `sft_seed` 0 (one SFT model; a record's `sftSeed` or `sft_seed` is used when
 * present), `rl_seed` null for a model without RL (the SFT model), `loops` and `form` null for sweep
 * rows (only the N=1 eval records them), `group` null for N=1 rows, `level` (the problem's
 * difficulty) null where the file does not say.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import * as fs from "node:fs";
import {
  describe,
  experimentOf,
  findFiles,
  isJsonl,
  need,
  type Obj,
  optional,
  readLines,
  readRecords,
} from "./read.js";

/** The columns of `loadEvalRows`, in order. */
export const EVAL_COLUMNS = [
  "experiment",
  "method",
  "sft_seed",
  "rl_seed",
  "n",
  "group",
  "position",
  "problem",
  "sample",
  "correct",
  "tokens",
  "loops",
  "form",
  "truncated",
  "decoding",
  "kind",
  "level",
] as const;

/** One evaluated sample. */
export interface EvalRow {
  /** Which results or runs folder it came from ("default": the folder given itself). */
  experiment: string;
  /** The model's method (`sft` for the SFT model). */
  method: string;
  sft_seed: number;
  /** The RL seed; null for a model that had no RL (the SFT model). */
  rl_seed: number | null;
  /** Problems per prompt (1 for the N=1 eval). */
  n: number;
  /** The sweep group (a packed prompt) at this N; null for N=1 rows. */
  group: number | null;
  /** 1-based position of the problem in its prompt. */
  position: number;
  /** The problem's id. */
  problem: string;
  /** Which independent draw for this problem (0 .. eval.samples - 1). */
  sample: number;
  correct: boolean;
  /** Tokens spent on this problem (its share of the response). */
  tokens: number;
  /** Re-check loops in the response (N=1 rows only, else null). */
  loops: number | null;
  /** The trace form the response was written in (N=1 rows only, when recorded, else null). */
  form: string | null;
  /** Whether the response was cut by the budget. */
  truncated: boolean;
  decoding: "sampled" | "greedy";
  kind: "n1" | "sweep";
  /** The problem's difficulty level, where the file records it (a study's rows), else null. */
  level: number | null;
}

/** File names `loadEvalRows` picks up when it searches a folder. */
export const EVAL_ROW_FILES: readonly string[] = [
  "eval-rows.jsonl.gz",
  "eval-rows.jsonl",
  "eval.json",
  "rows.jsonl.gz",
];

export interface LoadEvalRowsOptions {
  /** The experiment name for every row (default: from each file's folder, see the header). */
  experiment?: string;
}

const ARCHIVE_KINDS = new Set(["meta", "eval", "run"]);

/**
 * Every evaluated sample under `dir` (a folder searched at any depth, or one file) as an arquero
 * table with the columns of EVAL_COLUMNS. Throws naming the file and line of the first malformed
 * record, and when nothing was found.
 */
export async function loadEvalRows(dir: string, opts: LoadEvalRowsOptions = {}): Promise<ColumnTable> {
  return rowsTable(await readEvalRows(dir, opts));
}

/** The rows of `loadEvalRows` as plain objects (tests and code that wants no table). */
export async function readEvalRows(dir: string, opts: LoadEvalRowsOptions = {}): Promise<EvalRow[]> {
  if (!fs.existsSync(dir)) throw new Error(`loadEvalRows: ${dir} does not exist`);
  const single = !fs.statSync(dir).isDirectory();
  const files = single ? [dir] : findFiles(dir, (name) => EVAL_ROW_FILES.includes(name));
  if (files.length === 0)
    throw new Error(`loadEvalRows: no ${EVAL_ROW_FILES.join(", ")} under ${dir} (a results or runs folder)`);
  const rows: EvalRow[] = [];
  for (const file of files) {
    const experiment =
      opts.experiment ??
      (single ? "default" : experimentOf(dir, file, file.endsWith("eval.json") ? "eval" : undefined));
    let columns: string[] | null = null; // a columnar file's (a study's rows), from its meta line
    for (const { where, value } of await recordsOf(file)) {
      if (Array.isArray(value)) {
        if (!columns) throw new Error(`${where}: a row of values before any meta line naming the columns`);
        if (value.length !== columns.length)
          throw new Error(`${where}: ${value.length} values, the meta line names ${columns.length} columns`);
        rows.push(studyRow(Object.fromEntries(columns.map((c, k) => [c, value[k]])), experiment, where));
        continue;
      }
      const kind = value.kind;
      if (kind === "meta" && Array.isArray(value.columns)) columns = value.columns.map(String);
      else if (kind === "eval" || (kind === undefined && Array.isArray(value.n1)))
        rows.push(...modelRows(value, experiment, where));
      else if (typeof kind === "string" && ARCHIVE_KINDS.has(kind)) continue;
      else if ("problem" in value || "problemId" in value) rows.push(sampleRow(value, experiment, where));
      else
        throw new Error(
          `${where}: neither a model's eval record (method, n1, sweep) nor a sample row (method, problem, correct)`,
        );
    }
  }
  if (rows.length === 0) throw new Error(`loadEvalRows: ${files.join(", ")} hold no evaluated samples`);
  return rows;
}

/** A file's records: objects, or (JSONL) objects and arrays of values. */
async function recordsOf(file: string): Promise<{ where: string; value: Obj | unknown[] }[]> {
  if (!isJsonl(file)) return readRecords(file);
  return (await readLines(file)).map(({ where, value }) => {
    if (typeof value !== "object" || value === null)
      throw new Error(`${where}: expected a JSON object or an array of values, got ${describe(value)}`);
    return { where, value: value as Obj | unknown[] };
  });
}

/** An arquero table with EVAL_COLUMNS, in order, from rows. */
function rowsTable(rows: readonly EvalRow[]): ColumnTable {
  const cols: Record<string, unknown[]> = {};
  for (const c of EVAL_COLUMNS) cols[c] = rows.map((r) => r[c]);
  return aq.table(cols);
}

const sftSeedOf = (o: Obj, where: string) =>
  optional(o, "sftSeed", "number", where, optional(o, "sft_seed", "number", where, 0));

/** The rows of one model's eval record (eval.json, or an archive's `eval` line). */
export function modelRows(o: Obj, experiment: string, where: string): EvalRow[] {
  const method = need(o, "method", "string", where);
  const rl_seed = optional(o, "seed", "number", where, null);
  const sft_seed = sftSeedOf(o, where);
  const base = { experiment, method, sft_seed, rl_seed };
  const n1 = (list: unknown[], field: string, decoding: EvalRow["decoding"]): EvalRow[] =>
    list.map((e, i) => {
      const at = `${where}: ${field}[${i}]`;
      if (typeof e !== "object" || e === null) throw new Error(`${at}: expected an object`);
      const r = e as Obj;
      return {
        ...base,
        n: 1,
        group: null,
        position: 1,
        problem: need(r, "problemId", "string", at),
        sample: optional(r, "sample", "number", at, 0),
        correct: need(r, "correct", "boolean", at),
        tokens: need(r, "tokens", "number", at),
        loops: optional(r, "loops", "number", at, null),
        form: optional(r, "style", "string", at, null),
        truncated: optional(r, "truncated", "boolean", at, false),
        decoding,
        kind: "n1",
        level: null,
      };
    });
  const sweep = need(o, "sweep", "array", where).flatMap((e, i): EvalRow[] => {
    const at = `${where}: sweep[${i}]`;
    if (typeof e !== "object" || e === null) throw new Error(`${at}: expected an object`);
    const r = e as Obj;
    if (optional(r, "failed", "boolean", at, false)) return [];
    return [
      {
        ...base,
        n: need(r, "n", "number", at),
        group: need(r, "group", "number", at),
        position: need(r, "position", "number", at),
        problem: need(r, "problemId", "string", at),
        sample: optional(r, "sample", "number", at, 0),
        correct: need(r, "correct", "boolean", at),
        tokens: need(r, "tokens", "number", at),
        loops: null,
        form: null,
        truncated: optional(r, "truncated", "boolean", at, false),
        decoding: "sampled",
        kind: "sweep",
        level: null,
      },
    ];
  });
  return [
    ...n1(need(o, "n1", "array", where), "n1", "sampled"),
    ...n1(optional(o, "n1Greedy", "array", where, []), "n1Greedy", "greedy"),
    ...sweep,
  ];
}

/** One sample row already in long form; `method`, `problem` (or `problemId`), `correct` and `tokens` are required. */
export function sampleRow(o: Obj, experiment: string, where: string): EvalRow {
  const kind = optional(o, "kind", "string", where, "n1");
  if (kind !== "n1" && kind !== "sweep") throw new Error(`${where}: "kind" should be "n1" or "sweep", got "${kind}"`);
  const decoding = optional(o, "decoding", "string", where, "sampled");
  if (decoding !== "sampled" && decoding !== "greedy")
    throw new Error(`${where}: "decoding" should be "sampled" or "greedy", got "${decoding}"`);
  const n = optional(o, "n", "number", where, 1);
  return {
    experiment: optional(o, "experiment", "string", where, experiment),
    method: need(o, "method", "string", where),
    sft_seed: sftSeedOf(o, where),
    rl_seed: optional(o, "rl_seed", "number", where, null),
    n,
    group: optional(o, "group", "number", where, null),
    position: optional(o, "position", "number", where, 1),
    problem: "problem" in o ? need(o, "problem", "string", where) : need(o, "problemId", "string", where),
    sample: optional(o, "sample", "number", where, 0),
    correct: need(o, "correct", "boolean", where),
    tokens: need(o, "tokens", "number", where),
    loops: optional(o, "loops", "number", where, null),
    form: optional(o, "form", "string", where, null),
    truncated: optional(o, "truncated", "boolean", where, false),
    decoding,
    kind,
    level: optional(o, "level", "number", where, null),
  };
}

/** 0/1 or a boolean, as a boolean. */
function flag(o: Obj, key: string, where: string): boolean {
  const v = o[key];
  if (v === 0 || v === 1 || typeof v === "boolean") return Boolean(v);
  if (v === undefined) throw new Error(`${where}: column "${key}" is missing`);
  throw new Error(`${where}: "${key}" should be 0, 1 or a boolean, got ${describe(v)}`);
}

const STUDY_SETS = ["n1", "greedy", "sweep", "cont"];

/** One row of a regime study's rows file (src/study/rows.ts), its columns already named. */
export function studyRow(o: Obj, experiment: string, where: string): EvalRow {
  const arm = need(o, "arm", "string", where);
  const set = need(o, "set", "string", where);
  if (!STUDY_SETS.includes(set))
    throw new Error(`${where}: "set" should be one of ${STUDY_SETS.join(", ")}, got "${set}"`);
  const rl = o.rl === "-" ? null : need(o, "rl", "number", where);
  const sweep = set === "sweep";
  return {
    experiment,
    method: set === "cont" ? `${arm} (continued)` : arm,
    sft_seed: need(o, "sft", "number", where),
    rl_seed: rl,
    n: sweep ? need(o, "n", "number", where) : 1,
    group: sweep ? need(o, "group", "number", where) : null,
    position: sweep ? need(o, "pos", "number", where) : 1,
    problem: need(o, "problem", "string", where),
    sample: optional(o, "sample", "number", where, 0),
    correct: flag(o, "correct", where),
    tokens: need(o, "tokens", "number", where),
    loops: optional(o, "loops", "number", where, null),
    form: null,
    truncated: flag(o, "truncated", where),
    decoding: set === "greedy" ? "greedy" : "sampled",
    kind: sweep ? "sweep" : "n1",
    level: optional(o, "level", "number", where, null),
  };
}
