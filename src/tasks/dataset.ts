import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Problem } from "../bcr/types.js";
import { readJsonl, writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { LEVELS, VALUE_MAX, generateProblems } from "./synthetic.js";

/**
 * The synthetic data set on disk: `<dir>/train.jsonl`, `<dir>/test.jsonl` (one Problem per line)
 * and `<dir>/manifest.json` with the seed, the generator settings, the counts and the sha256 of
 * each file. Loading checks the hash, so a stale or edited file is an error, not a silent change.
 * Test questions never occur in train.
 */
export const DEFAULT_SYNTH_DIR = "datasets/synthetic";
export type Split = "train" | "test";

export interface SynthDatasetOptions {
  seed: number;
  train: number;
  test: number;
  levels: number[];
}
export const DEFAULT_SYNTH_OPTIONS: SynthDatasetOptions = {
  seed: 1234,
  train: 20000,
  test: 2000,
  levels: [1, 2, 3, 4],
};

export interface SynthManifest {
  name: "synthetic";
  version: 1;
  seed: number;
  generator: { levels: number[]; levelConfigs: Record<string, unknown>; valueMax: number; ops: string };
  counts: Record<Split, number>;
  files: Record<string, { sha256: string; lines: number }>;
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The two splits in memory, as writeSyntheticDataset writes them (test first, so no train
 * question repeats a test one). The study's ETA reads the train split's trace lengths from here
 * before any data stage has run (study/eta.ts).
 */
export function synthesizeSplits(opts: SynthDatasetOptions): Record<Split, Problem[]> {
  const seen = new Set<string>();
  const test = distinct(
    generateProblems(opts.seed * 2 + 1, opts.test * 3 + 1000, opts.levels),
    opts.test,
    seen,
    "syn-test",
  );
  const train = distinct(
    generateProblems(opts.seed * 2, opts.train * 3 + 1000, opts.levels),
    opts.train,
    seen,
    "syn-train",
  );
  return { train, test };
}

export function writeSyntheticDataset(dir: string, opts: SynthDatasetOptions = DEFAULT_SYNTH_OPTIONS): SynthManifest {
  const { train, test } = synthesizeSplits(opts);
  const files: SynthManifest["files"] = {};
  for (const [split, rows] of [
    ["train", train],
    ["test", test],
  ] as const) {
    const text = rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
    writeFileAtomic(path.join(dir, `${split}.jsonl`), text);
    files[`${split}.jsonl`] = { sha256: sha256(text), lines: rows.length };
  }
  const manifest: SynthManifest = {
    name: "synthetic",
    version: 1,
    seed: opts.seed,
    generator: {
      levels: opts.levels,
      levelConfigs: Object.fromEntries(opts.levels.map((l) => [String(l), LEVELS[l]])),
      valueMax: VALUE_MAX,
      ops: "+-",
    },
    counts: { train: train.length, test: test.length },
    files,
  };
  writeJsonAtomic(path.join(dir, "manifest.json"), manifest);
  return manifest;
}

/** Reads one split, verifying it against the manifest (missing file or sha mismatch -> Error). */
export function loadSyntheticDataset(dir: string, split: Split): Problem[] {
  const manifestFile = path.join(dir, "manifest.json");
  if (!fs.existsSync(manifestFile)) {
    throw new Error(`${manifestFile} not found: generate the synthetic data set with \`npm run datasets\``);
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as SynthManifest;
  const name = `${split}.jsonl`;
  const entry = manifest.files?.[name];
  if (!entry) throw new Error(`${manifestFile} lists no file ${name}`);
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) throw new Error(`${file} not found: regenerate with \`npm run datasets\``);
  const got = sha256(fs.readFileSync(file));
  if (got !== entry.sha256) {
    throw new Error(
      `${file}: sha256 mismatch (manifest ${entry.sha256}, file ${got}); the file changed since it was generated, regenerate with \`npm run datasets\``,
    );
  }
  return readJsonl<Problem>(file);
}

/** The first `count` problems of `pool` whose question is not in `seen` (which grows), renumbered. */
function distinct(pool: Problem[], count: number, seen: Set<string>, prefix: string): Problem[] {
  const out: Problem[] = [];
  for (const p of pool) {
    if (out.length === count) break;
    if (seen.has(p.question)) continue;
    seen.add(p.question);
    out.push({ ...p, id: `${prefix}-${out.length}` });
  }
  if (out.length < count) {
    throw new Error(`only ${out.length} distinct ${prefix} problems could be drawn for these levels; ask for fewer`);
  }
  return out;
}
