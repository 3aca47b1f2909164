/**
 * The regime study's configs (issue 29): a study is a list of experiment files; an experiment is
 * one question with its own SFT mix, gate, arms, seeds and pre-registered rules, and runs the
 * reproduce pipeline (src/reproduce/) once per SFT seed.
 *
 *   configs/study/study.json   {"name", "runs", "out", "experiments": ["A.json", "B.json", ...]}
 *   configs/study/A.json       {"id", "question", "claims", "base", "sftSeeds", "rlSeeds", "gate", "rules", ...}
 *
 * `base` is a reproduce config (src/reproduce/config.ts) written as a variant: an `extends` path
 * (relative to the experiment file, to one of configs/reproduce*.json) plus the fields it changes
 * (SFT mix, RL methods, bcr N list and budget, eval settings). SFT seed k sets both the SFT data
 * draw (sft.seed = k; with a second phase sft.extend.seed = k + 1) and the SFT run's seed
 * (sft.run.seed = k, sft.extend.run.seed = k); the RL seeds (config.seeds) are run on each SFT model.
 *
 * Every error names the file and the field: a study or experiment field by file:line:column
 * (util/config.ts), a base field as `<file> (base): field <path>`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { type MethodSpec, type ReproduceConfig, ReproduceConfigSchema } from "../reproduce/config.js";
import { stageHash } from "../reproduce/stages.js";
import { defaultMethodLabel } from "../rl/config.js";
import { ConfigError, deepMerge, loadConfig, parseConfig, readConfigJson } from "../util/config.js";

/** Gate metrics the runner knows how to measure on an SFT model (gate.ts says how). */
export const GATE_METRICS = [
  "recheck_share",
  "difficulty_token_gap",
  "forced_bare_accuracy_n1",
  "forced_bare_accuracy_n8",
] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

/** What an experiment can decide: the paper's claims 1-4, the frontier test, and experiment B's sharing question. */
export const CLAIM_IDS = ["1", "2", "3", "4", "frontier", "sharing"] as const;
export type ClaimId = (typeof CLAIM_IDS)[number];

const positiveInt = () => z.number().int().positive();
const levels = () => z.array(z.number().int().min(1).max(8)).min(1);
const uniqueInts = (min: number, what: string) =>
  z
    .array(z.number().int())
    .min(min, `needs at least ${min} ${what}`)
    .refine((xs) => new Set(xs).size === xs.length, `${what} must be distinct`);

export const GateSpecSchema = z.strictObject({
  metric: z
    .enum(GATE_METRICS)
    .describe(
      "recheck_share: share of sampled N=1 SFT responses with a re-check; difficulty_token_gap: their mean tokens on hard minus easy problems; forced_bare_accuracy_n1/_n8: accuracy with every problem's section forced into the bare form (its first token drawn among digits), N=1 / packs of 8",
    ),
  threshold: z.number().describe("the pre-registered threshold"),
  direction: z.enum([">=", "<="]).default(">=").describe("passed when figure <direction> threshold"),
  problems: positiveInt().optional().describe("test problems measured (absent: eval.problems)"),
  samples: positiveInt()
    .optional()
    .describe("independent draws per problem or pack, temperature 1 (absent: eval.samples)"),
  budget: positiveInt()
    .optional()
    .describe("response budget (absent: eval.n1Budget at N=1, eval.sweepBudget for packs)"),
});
export type GateSpec = z.infer<typeof GateSpecSchema>;

export const RulesSchema = z.strictObject({
  nonInferiorityMargin: z
    .number()
    .min(0)
    .max(1)
    .describe("claim 2: the accuracy difference's lower bound must be >= -margin (a fraction: 0.05 = 5 points)"),
  marginSource: z
    .string()
    .min(1)
    .describe("where the margin comes from (power arithmetic from committed rows, analysis/design.ts)"),
  minReduction: z
    .number()
    .min(0)
    .max(1)
    .default(0.15)
    .describe("claim 2: the token reduction's lower bound must reach this (the paper's smallest, 15.8%)"),
  collapseFloor: z
    .number()
    .min(0)
    .default(0.05)
    .describe("claim 4: a run collapsed below the guess rate plus this (absolute)"),
  loopsEpsilon: z
    .number()
    .min(0)
    .default(0.01)
    .describe("claim 3: an SFT model below this many loops per response has none to remove (not testable)"),
  maxN: positiveInt().default(8).describe("claim 1: the accuracy drop is measured from N=1 to this N"),
  level: z.number().gt(0).lt(1).default(0.95).describe("interval level of every rule"),
  bootstrap: positiveInt().default(1000).describe("resamples of the three-level bootstrap"),
  seed: z.number().int().default(0).describe("seed of the bootstrap"),
});
export type Rules = z.infer<typeof RulesSchema>;

export const ExperimentSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Z][A-Za-z0-9]*$/, "an id is a capital letter, then letters or digits (A, B, C, ...)")
    .describe("experiment id: A, B, C, ..."),
  question: z.string().min(1).describe("the question the experiment answers, in one or two sentences"),
  claims: z.array(z.enum(CLAIM_IDS)).min(1).describe('what it decides: claims "1"-"4", "frontier", "sharing"'),
  base: z
    .record(z.string(), z.unknown())
    .describe("a reproduce config: extends (relative to this file) plus overrides; src/reproduce/config.ts"),
  sftSeeds: uniqueInts(3, "SFT seeds").describe(
    "SFT seeds (>= 3): each sets sft.seed and sft.run.seed, the outer level of the bootstrap",
  ),
  rlSeeds: uniqueInts(2, "RL seeds").describe("RL seeds (>= 2), every one run on each SFT model"),
  gate: z
    .preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(GateSpecSchema).min(1))
    .describe(
      "the property of the SFT model that gives the experiment its meaning, one gate or several (all must pass)",
    ),
  rules: RulesSchema.describe("the pre-registered rules and thresholds"),
  pilot: z
    .string()
    .optional()
    .describe("how settings marked as placeholders (penalty strengths) are chosen from a short pilot, and its record"),
  recipeTries: z
    .array(z.string().min(1))
    .optional()
    .describe(
      "earlier SFT recipes tried for this experiment's gate, each with its gate figures and where its record is (issue 29: changing the SFT recipe until the gate passes is fair before any RL result; every try is recorded)",
    ),
  continuation: z
    .strictObject({
      steps: positiveInt().describe("RL steps of the continuation runs"),
      methods: z.array(z.string()).min(1).describe("method labels continued (e.g. bcr, single)"),
      sftSeed: z.number().int().optional().describe("the SFT seed they run on (absent: the first)"),
    })
    .optional()
    .describe("longer runs of some arms on one SFT seed: does the gap move with training?"),
  difficulty: z
    .strictObject({
      easy: levels().describe("levels counted as easy"),
      hard: levels().describe("levels counted as hard"),
    })
    .optional()
    .describe("report tokens and accuracy by difficulty (mixed packs: experiment B)"),
});
export type ExperimentSpec = z.infer<typeof ExperimentSchema>;

export const StudySchema = z.strictObject({
  name: z.string().default("study").describe("name shown in logs and the report"),
  runs: z.string().default("runs/study").describe("folder of every experiment's runs (runs/<...>/<id>/sft-<k>/)"),
  out: z.string().default("results").describe("results folder: study.json and study/<id>/"),
  smoke: z.boolean().default(false).describe("a smoke test on tiny models: its numbers mean nothing"),
  experiments: z.array(z.string().min(1)).min(1).describe("experiment files, relative to this file"),
  arithmeticReplicates: z
    .array(z.string().min(1))
    .default([])
    .refine((xs) => new Set(xs.map((x) => path.resolve(x))).size === xs.length, "a replicate is listed twice")
    .describe(
      "results folders (like out) of the same experiments run again under another kernel set (arithmetic.ts): each experiment with rows there is judged by the same rules, and a verdict that differs between kernel sets is not decided",
    ),
});
export type StudySpec = z.infer<typeof StudySchema>;

export interface Experiment {
  spec: ExperimentSpec;
  /** The experiment's config file as given (rules_commit is its last commit when the rows are assembled). */
  file: string;
  /** The resolved reproduce config every SFT seed starts from. */
  base: ReproduceConfig;
  gates: GateSpec[];
}

export interface Study {
  spec: StudySpec;
  file: string;
  experiments: Experiment[];
}

/** A method's label as planRuns gives it (single@b<k> labels need the data: `single@b` stands for them here). */
export function methodLabel(m: MethodSpec): string {
  if (m.kind === "single" && m.budget !== undefined) return "single@b";
  return defaultMethodLabel({
    kind: m.kind,
    budgetSplit: m.budgetSplit,
    shaping: { name: m.shaping, params: m.params },
  });
}

/** The base reproduce config of an experiment file: its extends chain, merged with its overrides, validated. */
export function resolveBase(file: string, base: Record<string, unknown>): ReproduceConfig {
  const where = `${file} (base)`;
  const { extends: parent, unset, ...mine } = base;
  if (typeof parent !== "string" || parent === "")
    throw new ConfigError(
      `${where}: field extends: a base names the reproduce config it varies (e.g. "../reproduce-essential.json")`,
    );
  const parentFile = path.isAbsolute(parent) ? parent : path.join(path.dirname(file), parent);
  const root = readConfigJson(parentFile) as Record<string, unknown>;
  if (unset !== undefined) {
    if (!Array.isArray(unset) || unset.some((u) => typeof u !== "string"))
      throw new ConfigError(`${where}: field unset: expected an array of dotted field paths`);
    for (const dotted of unset as string[]) {
      const keys = dotted.split(".");
      let obj: unknown = root;
      for (const k of keys.slice(0, -1))
        obj = obj && typeof obj === "object" ? (obj as Record<string, unknown>)[k] : undefined;
      if (!obj || typeof obj !== "object" || !(keys[keys.length - 1]! in obj))
        throw new ConfigError(`${where}: field unset: ${dotted} is not set in ${parent}`);
      delete (obj as Record<string, unknown>)[keys[keys.length - 1]!];
    }
  }
  return parseConfig(deepMerge(root, mine), ReproduceConfigSchema, where);
}

/** Checks across fields that the schema cannot see: arms the claims need, the data split, the gate. */
function checkExperiment(file: string, spec: ExperimentSpec, base: ReproduceConfig): void {
  const fail = (field: string, msg: string) => {
    throw new ConfigError(`${file}: field ${field}: ${msg}`);
  };
  const labels = base.rl.methods.map(methodLabel);
  const need = (claim: string, arms: string[]) => {
    const missing = arms.filter((a) => !labels.includes(a));
    if (missing.length)
      fail(
        "claims",
        `claim ${claim} needs the arm(s) ${missing.join(", ")} in base.rl.methods (has ${labels.join(", ")})`,
      );
  };
  for (const c of spec.claims) {
    if (c === "1") {
      need(c, ["bcr", "single"]);
      for (const n of [1, spec.rules.maxN])
        if (!base.eval.ns.includes(n))
          fail("claims", `claim 1 needs N=${n} in base.eval.ns (has ${base.eval.ns.join(", ")})`);
    }
    if (c === "2" || c === "3") need(c, ["bcr", "single"]);
    if (c === "4") need(c, ["bcr"]);
    if (c === "frontier") {
      need(c, ["bcr"]);
      const penalties = base.rl.methods.filter((m) => m.kind === "penalty" && m.shaping === "linear");
      if (penalties.length < 2)
        fail(
          "claims",
          `the frontier test needs at least two linear penalty strengths in base.rl.methods (has ${penalties.length})`,
        );
    }
    if (c === "sharing") {
      need(c, ["bcr", "bcr-split"]);
      if (!spec.difficulty) fail("difficulty", "the sharing question needs easy and hard levels");
    }
  }
  if (base.eval.problems > base.data.test)
    fail(
      "base.eval.problems",
      `${base.eval.problems} problems, but the data split has base.data.test = ${base.data.test}: raise data.test or say the split allows only ${base.data.test}`,
    );
  if (spec.continuation) {
    for (const m of spec.continuation.methods)
      if (!labels.includes(m))
        fail("continuation.methods", `${m} is not an arm of base.rl.methods (${labels.join(", ")})`);
    const k = spec.continuation.sftSeed;
    if (k !== undefined && !spec.sftSeeds.includes(k))
      fail("continuation.sftSeed", `${k} is not one of sftSeeds (${spec.sftSeeds.join(", ")})`);
  }
  for (const [i, g] of spec.gate.entries())
    if (g.metric === "difficulty_token_gap" && !spec.difficulty)
      fail(`gate[${i}].metric`, "difficulty_token_gap needs the difficulty field (easy and hard levels)");
  if (spec.difficulty) {
    const both = spec.difficulty.easy.filter((l) => spec.difficulty!.hard.includes(l));
    if (both.length) fail("difficulty", `level(s) ${both.join(", ")} are both easy and hard`);
  }
}

export function loadExperiment(file: string): Experiment {
  const spec = loadConfig(file, ExperimentSchema);
  const base = resolveBase(file, spec.base);
  checkExperiment(file, spec, base);
  return { spec, file, base, gates: spec.gate };
}

export function loadStudy(file: string): Study {
  const spec = loadConfig(file, StudySchema);
  const experiments = spec.experiments.map((e) => {
    const f = path.isAbsolute(e) ? e : path.join(path.dirname(file), e);
    if (!fs.existsSync(f)) throw new ConfigError(`${file}: field experiments: ${e} does not exist (${f})`);
    return loadExperiment(f);
  });
  const own = spec.arithmeticReplicates.find((r) => path.resolve(r) === path.resolve(spec.out));
  if (own !== undefined)
    throw new ConfigError(
      `${file}: field arithmeticReplicates: ${own} is the study's own out (a replicate is another run's results folder)`,
    );
  const ids = experiments.map((e) => e.spec.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new ConfigError(`${file}: field experiments: two experiments have the id ${twice}`);
  return { spec, file, experiments };
}

/**
 * The reproduce config of one SFT seed: the base with the SFT data draw and the SFT run seeded by
 * k (see the header), the RL seeds, and the runs folder <runs>/<id>/sft-<k>.
 */
export function sftSeedConfig(exp: Experiment, k: number, runsRoot: string): ReproduceConfig {
  const c = structuredClone(exp.base);
  c.sft.seed = k;
  c.sft.run = { ...c.sft.run, seed: k };
  if (c.sft.extend) c.sft.extend = { ...c.sft.extend, seed: k + 1, run: { ...c.sft.extend.run, seed: k } };
  c.seeds = [...exp.spec.rlSeeds];
  c.runs = sftSeedDir(runsRoot, exp.spec.id, k);
  c.out = path.join(c.runs, "out");
  c.name = `${exp.spec.id}/sft-${k}`;
  return c;
}

/**
 * What an experiment's results depend on: its spec and its base config without the fields that only
 * name places (out, runs, name, demoModel; each SFT seed's own are set by sftSeedConfig), so moving
 * a parent config's output folder does not make a finished experiment look unfinished. Recorded in
 * the rows archive's meta, so a replicate of the rows can be checked to come from the same config.
 */
export function experimentHash(exp: Experiment): string {
  const {
    out: _out,
    runs: _runs,
    name: _name,
    demoModel: _demo,
    ...base
  } = exp.base as typeof exp.base & {
    demoModel?: unknown;
  };
  return stageHash({ spec: exp.spec, base });
}

export function sftSeedDir(runsRoot: string, id: string, k: number): string {
  return path.join(runsRoot, id, `sft-${k}`);
}
