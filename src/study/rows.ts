/**
 * results/study/<id>/rows.jsonl.gz: every per-sample eval row of one experiment, compact, so that
 * `bcr study --rejudge` re-judges every verdict from the repository alone (rigor.md, "Checkable";
 * the study's counterpart of src/reproduce/archive.ts).
 *
 * gzip JSONL (level 9, no name or time in the header: the same rows give the same bytes):
 *   line 1   {"kind":"meta","format":1,"id","columns":[...],"budgets","gate","runs","test",
 *            "rules_commit","rules_dirty","kernels","experiment_hash","arithmetic", ...}
 *   then     one JSON array per row, in the order of `columns`:
 *     arm      method label (sft, single, bcr, bcr-split, single@b35, linear@0.5, ...)
 *     sft      SFT seed
 *     rl       RL seed ("-" for the SFT model itself)
 *     set      n1 (sampled N=1) | greedy (N=1, temperature 0) | sweep (packs of n) | cont (the
 *              continuation runs' sampled N=1, on one SFT seed)
 *     n, group, pos           pack size, group, 1-based position (1, 0, 1 at N=1)
 *     problem, level          test problem id and its difficulty level
 *     sample                  independent draw
 *     correct, truncated      0 / 1
 *     tokens                  tokens attributed to the problem (2 decimals)
 *     loops                   re-checks in the response (N=1 sets; null in the sweep)
 */
import * as fs from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { isFingerprint } from "../model/arithmetic-fingerprint.js";
import type { ModelEval } from "../reproduce/eval.js";
import { writeFileAtomic } from "../util/fsx.js";

export const ROWS_FILE = "rows.jsonl.gz";

export const COLUMNS = [
  "arm",
  "sft",
  "rl",
  "set",
  "n",
  "group",
  "pos",
  "problem",
  "level",
  "sample",
  "correct",
  "truncated",
  "tokens",
  "loops",
] as const;

export type RowSet = "n1" | "greedy" | "sweep" | "cont";

export interface StudyRow {
  arm: string;
  sft: number;
  rl: number | "-";
  set: RowSet;
  n: number;
  group: number;
  pos: number;
  problem: string;
  level: number | null;
  sample: number;
  correct: number;
  truncated: number;
  tokens: number;
  loops: number | null;
}

/** One RL run's end: what the collapse figures read. */
export interface RunEnd {
  arm: string;
  sft: number;
  rl: number;
  set: "main" | "cont";
  steps: number;
  initialAccuracy: number | null;
  finalAccuracy: number | null;
  finalTokens: number | null;
}

export interface SeedGate {
  sft: number;
  passed: boolean;
  /** Per gate metric: measured figure, threshold, direction, how it was measured. */
  gates: {
    metric: string;
    measured: number;
    threshold: number;
    direction: ">=" | "<=";
    passed: boolean;
    how: string;
  }[];
}

export interface RowsMeta {
  format: 1;
  id: string;
  /** Response budgets of the eval sets (a bcr-split arm's cap at N is floor(sweep / N)), and each SFT seed's bcr budget. */
  budgets: { n1: number; sweep: number; bcr: Record<string, number> };
  gate: SeedGate[];
  gatePassed: boolean;
  runs: RunEnd[];
  /** Test problems evaluated, and how many the data split has. */
  test: { problems: number; available: number };
  continuation: { steps: number; sft: number; methods: string[] } | null;
  wall: Record<string, number>;
  /**
   * The commit that last changed the experiment's config when the rows were assembled (null: never
   * committed), and whether the file differed from it then (provenance.ts). Absent from archives
   * written before the meta carried them.
   */
  rules_commit?: string | null;
  rules_dirty?: boolean;
  /**
   * The arithmetic the rows were computed with (arithmetic.ts, kernelSetOf: "wasm", "native
   * (OpenBLAS Zen)", ...) and the hash of the experiment's config (config.ts, experimentHash),
   * recorded when the rows are assembled so a replicate under other kernels can be matched with
   * them. Absent from archives written before the meta carried them (machine.json beside them
   * names the kernel set).
   */
  kernels?: string;
  experiment_hash?: string;
  /**
   * The arithmetic fingerprint of the process that assembled the rows (src/model/arithmetic-fingerprint.ts):
   * what tells two kernel sets apart, where `kernels` is the name for people. Absent from archives
   * assembled before the field (machine.json beside them may carry it).
   */
  arithmetic?: string;
  /**
   * The machine's 1024^3 sgemm peak in GFLOP/s on `threads` threads (src/engine/peak.ts,
   * machinePeak), measured in the study's process right before the experiment's first work item
   * and right after its last: a record beside `wall`, the figure every MFU here is a share of. Not
   * a measure of how fast the stages ran (eta.ts: it read 88 and 161 around one experiment whose
   * stages ran at an ordinary pace). Absent from archives assembled before the field, or by
   * `--phase judge` (cluster jobs: no one process saw the work run).
   */
  sgemm_peak?: { threads: number; start: number; end: number };
}

export interface RowsArchive {
  meta: RowsMeta;
  rows: StudyRow[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** A model's eval as study rows (levels from the test problems by id). */
export function rowsOfEval(
  e: ModelEval,
  arm: string,
  sft: number,
  levelOf: (id: string) => number | null,
  set: "main" | "cont" = "main",
): StudyRow[] {
  const rl: number | "-" = e.seed === null ? "-" : e.seed;
  const n1 = (rs: ModelEval["n1"], s: RowSet): StudyRow[] =>
    rs.map((r) => ({
      arm,
      sft,
      rl,
      set: s,
      n: 1,
      group: 0,
      pos: 1,
      problem: r.problemId,
      level: levelOf(r.problemId),
      sample: r.sample ?? 0,
      correct: Number(r.correct),
      truncated: Number(r.truncated),
      tokens: round2(r.tokens),
      loops: r.loops,
    }));
  if (set === "cont") return n1(e.n1, "cont");
  return [
    ...n1(e.n1, "n1"),
    ...n1(e.n1Greedy ?? [], "greedy"),
    ...e.sweep
      .filter((r) => !r.failed)
      .map((r) => ({
        arm,
        sft,
        rl,
        set: "sweep" as const,
        n: r.n,
        group: r.group,
        pos: r.position,
        problem: r.problemId,
        level: levelOf(r.problemId),
        sample: r.sample ?? 0,
        correct: Number(r.correct),
        truncated: Number(r.truncated),
        tokens: round2(r.tokens),
        loops: null,
      })),
  ];
}

export function writeRows(file: string, a: RowsArchive): void {
  const lines = [
    JSON.stringify({ kind: "meta", ...a.meta, columns: COLUMNS }),
    ...a.rows.map((r) => JSON.stringify(COLUMNS.map((c) => r[c]))),
  ];
  writeFileAtomic(file, gzipSync(Buffer.from(lines.join("\n") + "\n"), { level: 9 }));
}

export function readRows(file: string): RowsArchive {
  let text: string;
  try {
    text = gunzipSync(fs.readFileSync(file)).toString("utf8");
  } catch (e) {
    throw new Error(`${file}: not a readable gzip file (${(e as Error).message})`);
  }
  const lines = text.split("\n").filter((l) => l.trim());
  if (lines.length === 0) throw new Error(`${file}: empty`);
  const head = JSON.parse(lines[0]!) as RowsMeta & { kind: string; columns: string[] };
  if (head.kind !== "meta" || head.format !== 1)
    throw new Error(`${file}: line 1 is not a format-1 meta line (this code reads format 1)`);
  const { kind: _k, columns, ...meta } = head;
  if (meta.rules_commit !== undefined && meta.rules_commit !== null && typeof meta.rules_commit !== "string")
    throw new Error(
      `${file}: meta field rules_commit must be a commit hash or null, got ${JSON.stringify(meta.rules_commit)}`,
    );
  if (meta.rules_dirty !== undefined && typeof meta.rules_dirty !== "boolean")
    throw new Error(`${file}: meta field rules_dirty must be true or false, got ${JSON.stringify(meta.rules_dirty)}`);
  for (const field of ["kernels", "experiment_hash"] as const)
    if (meta[field] !== undefined && (typeof meta[field] !== "string" || meta[field] === ""))
      throw new Error(`${file}: meta field ${field} must be a non-empty string, got ${JSON.stringify(meta[field])}`);
  if (meta.arithmetic !== undefined && (typeof meta.arithmetic !== "string" || !isFingerprint(meta.arithmetic)))
    throw new Error(
      `${file}: meta field arithmetic must be an arithmetic fingerprint (16 hex digits), got ${JSON.stringify(meta.arithmetic)}`,
    );
  const sp = meta.sgemm_peak as unknown;
  if (sp !== undefined) {
    const o = sp as Record<string, unknown>;
    const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
    if (
      typeof sp !== "object" ||
      sp === null ||
      !Number.isInteger(o.threads) ||
      !positive(o.threads) ||
      !positive(o.start) ||
      !positive(o.end)
    )
      throw new Error(
        `${file}: meta field sgemm_peak must be {threads, start, end} with a whole thread count and GFLOP/s above 0, got ${JSON.stringify(sp)}`,
      );
  }
  const rows = lines.slice(1).map((l, i) => {
    const v = JSON.parse(l) as unknown[];
    if (!Array.isArray(v) || v.length !== columns.length)
      throw new Error(`${file}: line ${i + 2}: expected ${columns.length} values (${columns.join(", ")})`);
    return Object.fromEntries(columns.map((c, k) => [c, v[k]])) as unknown as StudyRow;
  });
  return { meta, rows };
}
