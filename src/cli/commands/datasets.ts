import * as path from "node:path";
import { parseFlags, UsageError, type Command } from "../command.js";
import {
  DEFAULT_SYNTH_DIR,
  DEFAULT_SYNTH_OPTIONS,
  loadSyntheticDataset,
  writeSyntheticDataset,
} from "../../tasks/dataset.js";
import { LEVELS } from "../../tasks/synthetic.js";

export const command: Command = {
  name: "datasets",
  summary: "generate the seeded synthetic train/test data set (datasets/synthetic/)",
  usage: [
    "usage: bcr datasets [--out DIR] [--seed N] [--train N] [--test N] [--levels 1,2,3,4] [--check]",
    `  --out DIR      output folder (default ${DEFAULT_SYNTH_DIR})`,
    `  --seed N       generator seed (default ${DEFAULT_SYNTH_OPTIONS.seed})`,
    `  --train N      train problems (default ${DEFAULT_SYNTH_OPTIONS.train})`,
    `  --test N       test problems, never in train (default ${DEFAULT_SYNTH_OPTIONS.test})`,
    `  --levels LIST  difficulty levels, drawn uniformly (default ${DEFAULT_SYNTH_OPTIONS.levels.join(",")})`,
    "  --check        only verify an existing data set against its manifest",
    "real math data (GSM8K, MATH-500): npm run datasets:download",
  ].join("\n"),
  async run(argv) {
    const values = parseFlags(argv, {
      out: { type: "string" },
      seed: { type: "string" },
      train: { type: "string" },
      test: { type: "string" },
      levels: { type: "string" },
      check: { type: "boolean" },
    });
    const dir = path.resolve(values.out ?? DEFAULT_SYNTH_DIR);
    if (values.check) {
      const train = loadSyntheticDataset(dir, "train").length;
      const test = loadSyntheticDataset(dir, "test").length;
      console.log(`${dir}: ok (train ${train}, test ${test}; sha256 match the manifest)`);
      return 0;
    }
    const opts = {
      seed: int("seed", values.seed, DEFAULT_SYNTH_OPTIONS.seed, 0),
      train: int("train", values.train, DEFAULT_SYNTH_OPTIONS.train, 1),
      test: int("test", values.test, DEFAULT_SYNTH_OPTIONS.test, 1),
      levels: values.levels === undefined ? DEFAULT_SYNTH_OPTIONS.levels : levels(values.levels),
    };
    const m = writeSyntheticDataset(dir, opts);
    for (const [name, f] of Object.entries(m.files))
      console.log(`${path.join(dir, name)}  ${f.lines} problems  sha256 ${f.sha256}`);
    console.log(`${path.join(dir, "manifest.json")}  seed ${m.seed}, levels ${m.generator.levels.join(",")}`);
    return 0;
  },
};

function int(name: string, raw: string | undefined, dflt: number, min: number): number {
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${raw}'`);
  return v;
}

function levels(raw: string): number[] {
  const out = raw.split(",").map((s) => Number(s.trim()));
  const valid = Object.keys(LEVELS).map(Number);
  if (out.length === 0 || out.some((l) => !valid.includes(l))) {
    throw new UsageError(`--levels must be a comma-separated list from ${valid.join(",")}, got '${raw}'`);
  }
  return [...new Set(out)];
}
