/**
 * Export packed BCR training prompts, with their gold answers as labels, in the layouts the
 * big RL frameworks read.
 *
 * OpenRLHF (--prompt_data FILE --input_key input --label_key label):
 *   {"input": <packed prompt>, "label": "[\"12\",\"7\",\"3\"]", "n": 3, "ids": "[...]", "data_source": "..."}
 *   The label is a JSON-array string (what the reward server parses); the keys are configurable.
 * verl (data.train_files=FILE.parquet), the layout of verl's examples/data_preprocess/gsm8k.py:
 *   {"data_source": "bcr/<source>", "prompt": [{"role": "user", "content": <packed prompt>}],
 *    "ability": "math", "reward_model": {"style": "rule", "ground_truth": "[\"12\",\"7\",\"3\"]"},
 *    "extra_info": {"split", "index", "n", "ids": [...], "golds": [...], "template"}}
 *   ground_truth is the same JSON-array string, so one reward function serves both.
 *
 * Each layout is written as JSONL and as Parquet (hyparquet-writer; verl's nested columns as
 * list<struct> and struct, the layout pandas/pyarrow produce), every file atomically.
 *
 * Grouping (groupProblems): seeded. "balanced" (the paper groups so that each group's mean
 * difficulty is similar): problems sorted by difficulty are cut into N equal strata and group
 * g takes one problem from each stratum (strata shuffled independently), then the order inside
 * each group and the order of the groups are shuffled. Without difficulties, or with "random",
 * the problems are shuffled and cut into consecutive groups. Leftovers (count mod N) are in no
 * group; exportProblems names them in the manifest.
 */
import * as path from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";

type WriterSchema = NonNullable<Parameters<typeof parquetWriteBuffer>[0]["schema"]>;
import { packProblems } from "../bcr/index.js";
import type { PackedPrompt, Problem, TemplateName } from "../bcr/types.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { Rng } from "../util/rng.js";

export type ExportFormat = "openrlhf" | "verl";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["openrlhf", "verl"];
export type Grouping = "balanced" | "random";

export function groupProblems(
  problems: readonly Problem[],
  opts: { n: number; seed: number; grouping?: Grouping },
): Problem[][] {
  const { n } = opts;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`group size n must be a positive integer, got ${n}`);
  const rng = new Rng(opts.seed);
  const count = Math.floor(problems.length / n);
  const shuffled = rng.shuffle(problems);
  const balanced =
    (opts.grouping ?? "balanced") === "balanced" && problems.every((p) => typeof p.difficulty === "number");
  let groups: Problem[][];
  if (!balanced) {
    groups = Array.from({ length: count }, (_, g) => shuffled.slice(g * n, (g + 1) * n));
  } else {
    // Stable sort of a shuffled list: ties in difficulty are broken at random.
    const sorted = shuffled.slice(0, count * n).sort((a, b) => a.difficulty! - b.difficulty!);
    const strata = Array.from({ length: n }, (_, k) => rng.shuffle(sorted.slice(k * count, (k + 1) * count)));
    groups = Array.from({ length: count }, (_, g) => rng.shuffle(strata.map((s) => s[g]!)));
    groups = rng.shuffle(groups);
  }
  return groups;
}

export interface RowOptions {
  inputKey?: string; // default "input"
  labelKey?: string; // default "label"
  dataSource?: string; // default "bcr"
  split?: string; // default "train"
  ability?: string; // default "math"
}

/** The label / ground truth of a packed prompt: its gold answers as a JSON-array string. */
export function goldLabel(prompt: PackedPrompt): string {
  return JSON.stringify(prompt.golds);
}

export function openrlhfRow(prompt: PackedPrompt, opts: RowOptions = {}): Record<string, unknown> {
  const inputKey = opts.inputKey ?? "input";
  const labelKey = opts.labelKey ?? "label";
  if (inputKey === labelKey) throw new Error(`input key and label key must differ (both '${inputKey}')`);
  return {
    [inputKey]: prompt.text,
    [labelKey]: goldLabel(prompt),
    n: prompt.n,
    ids: JSON.stringify(prompt.ids),
    data_source: opts.dataSource ?? "bcr",
  };
}

export interface VerlRow {
  data_source: string;
  prompt: { role: string; content: string }[];
  ability: string;
  reward_model: { style: "rule"; ground_truth: string };
  extra_info: { split: string; index: number; n: number; ids: string[]; golds: string[]; template: TemplateName };
}

export function verlRow(prompt: PackedPrompt, index: number, opts: RowOptions = {}): VerlRow {
  return {
    data_source: opts.dataSource ?? "bcr",
    prompt: [{ role: "user", content: prompt.text }],
    ability: opts.ability ?? "math",
    reward_model: { style: "rule", ground_truth: goldLabel(prompt) },
    extra_info: {
      split: opts.split ?? "train",
      index,
      n: prompt.n,
      ids: prompt.ids,
      golds: prompt.golds,
      template: prompt.template,
    },
  };
}

const str = (name: string) =>
  ({ name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" }) as const;
const int64 = (name: string) => ({ name, type: "INT64", repetition_type: "OPTIONAL" }) as const;
const list = (name: string, element: number) =>
  [
    { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
    { name: "list", repetition_type: "REPEATED", num_children: 1 },
    ...(element === 0 ? [str("element")] : [{ name: "element", repetition_type: "OPTIONAL", num_children: element }]),
  ] as const;

export function openrlhfParquet(rows: Record<string, unknown>[], inputKey = "input", labelKey = "label"): ArrayBuffer {
  const col = (name: string) => rows.map((r) => r[name]);
  return parquetWriteBuffer({
    columnData: [
      { name: inputKey, data: col(inputKey), type: "STRING" },
      { name: labelKey, data: col(labelKey), type: "STRING" },
      { name: "n", data: col("n"), type: "INT32" },
      { name: "ids", data: col("ids"), type: "STRING" },
      { name: "data_source", data: col("data_source"), type: "STRING" },
    ],
  });
}

export function verlParquet(rows: VerlRow[]): ArrayBuffer {
  const schema = [
    { name: "root", num_children: 5 },
    str("data_source"),
    ...list("prompt", 2),
    str("role"),
    str("content"),
    str("ability"),
    { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
    str("style"),
    str("ground_truth"),
    { name: "extra_info", repetition_type: "OPTIONAL", num_children: 6 },
    str("split"),
    int64("index"),
    int64("n"),
    ...list("ids", 0),
    ...list("golds", 0),
    str("template"),
  ];
  return parquetWriteBuffer({
    // The literal schema above is what parquet wants; its string fields are wider than the writer's unions.
    schema: schema as unknown as WriterSchema,
    columnData: [
      { name: "data_source", data: rows.map((r) => r.data_source) },
      { name: "prompt", data: rows.map((r) => r.prompt) },
      { name: "ability", data: rows.map((r) => r.ability) },
      { name: "reward_model", data: rows.map((r) => r.reward_model) },
      {
        name: "extra_info",
        data: rows.map((r) => ({ ...r.extra_info, index: BigInt(r.extra_info.index), n: BigInt(r.extra_info.n) })),
      },
    ],
  });
}

export interface ExportOptions extends RowOptions {
  outDir: string;
  /** File name stem: <outDir>/<name>.openrlhf.jsonl etc. Default: the split. */
  name?: string;
  formats?: readonly ExportFormat[];
  parquet?: boolean; // default true
  /** Recorded in the manifest. */
  meta?: Record<string, unknown>;
}

export interface ExportResult {
  files: string[];
  prompts: number;
}

/** Writes the packed prompts in every requested layout, plus <name>.manifest.json. */
export function writeExport(prompts: PackedPrompt[], opts: ExportOptions): ExportResult {
  const name = opts.name ?? opts.split ?? "train";
  const formats = opts.formats ?? EXPORT_FORMATS;
  const files: string[] = [];
  const put = (file: string, data: string | Uint8Array) => {
    const full = path.join(opts.outDir, file);
    writeFileAtomic(full, data);
    files.push(full);
  };
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + (rows.length ? "\n" : "");
  if (formats.includes("openrlhf")) {
    const rows = prompts.map((p) => openrlhfRow(p, opts));
    put(`${name}.openrlhf.jsonl`, jsonl(rows));
    if (opts.parquet !== false)
      put(`${name}.openrlhf.parquet`, new Uint8Array(openrlhfParquet(rows, opts.inputKey, opts.labelKey)));
  }
  if (formats.includes("verl")) {
    const rows = prompts.map((p, i) => verlRow(p, i, opts));
    put(`${name}.verl.jsonl`, jsonl(rows));
    if (opts.parquet !== false) put(`${name}.verl.parquet`, new Uint8Array(verlParquet(rows)));
  }
  const manifest = path.join(opts.outDir, `${name}.manifest.json`);
  writeJsonAtomic(manifest, {
    prompts: prompts.length,
    n: prompts[0]?.n ?? null,
    template: prompts[0]?.template ?? null,
    input_key: opts.inputKey ?? "input",
    label_key: opts.labelKey ?? "label",
    data_source: opts.dataSource ?? "bcr",
    split: opts.split ?? "train",
    files: files.map((f) => path.basename(f)),
    ...opts.meta,
  });
  files.push(manifest);
  return { files, prompts: prompts.length };
}

/**
 * Group, pack and write: the whole export in one call.
 *
 * Problems that fit in no group are named, not dropped silently: `leftOver` (the count mod N
 * that cannot fill a group: GSM8K test's 1,319 problems at N=3 leave 2, which ones is up to the
 * seeded grouping) and `unused` (groups cut by `limit`). Both go into the manifest
 * (`left_over`, `unused_by_limit`, each {count, ids}); the CLI prints them too. No group at all
 * (fewer problems than N) is an error, before anything is written.
 */
export function exportProblems(
  problems: readonly Problem[],
  opts: ExportOptions & {
    n: number;
    seed: number;
    grouping?: Grouping;
    template?: TemplateName;
    limit?: number;
  },
): ExportResult & { dropped: number; leftOver: string[]; unused: string[] } {
  const all = groupProblems(problems, opts);
  if (all.length === 0)
    throw new Error(`${problems.length} problem(s) make no group of n=${opts.n}: nothing to export`);
  const groups = opts.limit !== undefined ? all.slice(0, opts.limit) : all;
  const grouped = new Set(all.flat());
  const leftOver = problems.filter((p) => !grouped.has(p)).map((p) => p.id);
  const unused = all
    .slice(groups.length)
    .flat()
    .map((p) => p.id);
  const template = opts.template ?? "natural";
  const prompts = groups.map((g) => packProblems(g, { template }));
  const result = writeExport(prompts, {
    ...opts,
    meta: {
      seed: opts.seed,
      grouping: opts.grouping ?? "balanced",
      problems: problems.length,
      left_over: {
        count: leftOver.length,
        ids: leftOver,
        why: `${problems.length} problems is not a multiple of n=${opts.n}`,
      },
      ...(unused.length ? { unused_by_limit: { count: unused.length, ids: unused } } : {}),
      ...opts.meta,
    },
  });
  return { ...result, dropped: leftOver.length + unused.length, leftOver, unused };
}
