import * as fs from "node:fs";
import type { Problem } from "../../bcr/types.js";
import { formatLadder, ladderTable } from "../../diagnostics/ladder.js";
import { laterStart, formatLaterStart } from "../../diagnostics/later-start.js";
import { formatLoopsAccuracy, loopsAccuracy } from "../../diagnostics/loops-accuracy.js";
import { formatPackedLookup, packedLookup } from "../../diagnostics/packed-lookup.js";
import { EVAL_KINDS, formatTraceStyles, traceStyles, type EvalKind } from "../../diagnostics/trace-styles.js";
import { loadLocalModel } from "../../train/load-local.js";
import type { LocalModel } from "../../model/local-model.js";
import { loadProblemsFile } from "../../data/problems-file.js";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";

const usage = `usage: bcr diagnose <probe> [options]

Research probes of a trained model (src/diagnostics/); each prints a small table on stdout.
--model is a checkpoint, a checkpoints folder or a run folder; --problems a JSONL of problems
({id, question, answer, difficulty?}, e.g. runs/reproduce/data/test.jsonl), used in file order.

  packed-lookup   accuracy, loops and operation-fetch rate by position in packs of N: can the
                  model solve every problem of a packed context, or only the first?
      --model DIR --problems FILE [--ns 1,2,3,4] [--count 96] [--temperature 0] [--show 0]
  loops-accuracy  N=1 accuracy and tokens by number of re-checks (answer-only its own row):
                  do re-checks cost or buy accuracy? Each problem sampled --repeats times.
      --model DIR --problems FILE [--count 256] [--repeats 4] [--temperature 1] [--budget 160]
  later-start     problem 2's accuracy and fetch rate when problem 1's forced trace (0, 2, 4
                  re-checks) makes it start earlier or later in the context
      --model DIR --problems FILE [--pairs 64] [--loops 0,2,4]
  ladder          the compression ladder: N=1 accuracy, tokens and steps right with the response
                  forced into each trace form (essential, terse, answer-only), then unforced
                  responses by the style they chose (run it on a ladder run's SFT model)
      --model DIR --problems FILE [--count 256] [--budget 160] [--temperature 0] [--samples 1]
  trace-styles    share, accuracy and tokens of each trace style (essential, re-checks, merged,
                  answer-only) per method and N, from a bcr reproduce runs folder's eval caches
      --runs DIR [--which sweep|n1] [--by-position] [--methods a,b]`;

const PROBES = ["packed-lookup", "loops-accuracy", "later-start", "ladder", "trace-styles"] as const;

function intList(flag: string, v: string, min: number): number[] {
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < min))
    throw new UsageError(`--${flag} must be a comma list of integers >= ${min}, got '${v}'`);
  return xs;
}

function temperatureFlag(v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const t = Number(v);
  if (!(t >= 0)) throw new UsageError(`--temperature must be a number >= 0, got '${v}'`);
  return t;
}

function required(v: string | undefined, flag: string): string {
  if (!v) throw new UsageError(`--${flag} is required`);
  return v;
}

/** The first `count` problems of the file (all when count is undefined). */
function problemsOf(file: string, count?: number): Problem[] {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such problems file`);
  return loadProblemsFile(file, count !== undefined ? { limit: count } : {});
}

async function withModel(dir: string, body: (m: LocalModel) => string[] | Promise<string[]>): Promise<string[]> {
  const model = await loadLocalModel(dir);
  try {
    return await body(model);
  } finally {
    (model.model as { dispose?: () => void }).dispose?.();
  }
}

const modelFlags = { model: { type: "string" }, problems: { type: "string" } } as const;

async function runProbe(probe: (typeof PROBES)[number], argv: string[]): Promise<string[]> {
  if (probe === "packed-lookup") {
    const v = parseFlags(argv, {
      ...modelFlags,
      ns: { type: "string" },
      count: { type: "string" },
      temperature: { type: "string" },
      show: { type: "string" },
    });
    const [dir, file] = [required(v.model, "model"), required(v.problems, "problems")];
    const ns = intList("ns", v.ns ?? "1,2,3,4", 1);
    const count = intFlag(v.count, "count") ?? 96,
      show = intFlag(v.show, "show", 0) ?? 0;
    const temperature = temperatureFlag(v.temperature, 0);
    const problems = problemsOf(file, count);
    return withModel(dir, (m) => [
      `${dir} on ${problems.length} problems of ${file}, temperature ${temperature}`,
      ...formatPackedLookup(packedLookup(m, problems, { ns, temperature }), show),
    ]);
  }
  if (probe === "loops-accuracy") {
    const v = parseFlags(argv, {
      ...modelFlags,
      count: { type: "string" },
      repeats: { type: "string" },
      temperature: { type: "string" },
      budget: { type: "string" },
    });
    const [dir, file] = [required(v.model, "model"), required(v.problems, "problems")];
    const count = intFlag(v.count, "count") ?? 256,
      repeats = intFlag(v.repeats, "repeats") ?? 4,
      budget = intFlag(v.budget, "budget") ?? 160;
    const temperature = temperatureFlag(v.temperature, 1);
    const problems = problemsOf(file, count);
    return withModel(dir, (m) => [
      `${dir}: ${problems.length} problems x ${repeats} samples at temperature ${temperature}, N=1`,
      ...formatLoopsAccuracy(loopsAccuracy(m, problems, { repeats, temperature, budget })),
    ]);
  }
  if (probe === "later-start") {
    const v = parseFlags(argv, { ...modelFlags, pairs: { type: "string" }, loops: { type: "string" } });
    const [dir, file] = [required(v.model, "model"), required(v.problems, "problems")];
    const pairs = intFlag(v.pairs, "pairs") ?? 64;
    const loops = intList("loops", v.loops ?? "0,2,4", 0);
    const problems = problemsOf(file, 2 * pairs);
    if (problems.length < 2 * pairs)
      throw new Error(`${file}: need ${2 * pairs} problems for ${pairs} pairs, found ${problems.length}`);
    return withModel(dir, (m) => [
      `${dir}: ${pairs} pairs of ${file}, problem 1 teacher-forced, problem 2 greedy`,
      ...formatLaterStart(laterStart(m, problems, { loops })),
    ]);
  }
  if (probe === "ladder") {
    const v = parseFlags(argv, {
      ...modelFlags,
      count: { type: "string" },
      budget: { type: "string" },
      temperature: { type: "string" },
      samples: { type: "string" },
    });
    const [dir, file] = [required(v.model, "model"), required(v.problems, "problems")];
    const count = intFlag(v.count, "count") ?? 256,
      budget = intFlag(v.budget, "budget") ?? 160,
      samples = intFlag(v.samples, "samples") ?? 1;
    const temperature = temperatureFlag(v.temperature, 0);
    const problems = problemsOf(file, count);
    return withModel(dir, async (m) => [
      `${dir} on ${problems.length} problems of ${file}, temperature ${temperature}`,
      ...formatLadder(await ladderTable(m, problems, { budget, temperature, samples })),
    ]);
  }
  const v = parseFlags(argv, {
    runs: { type: "string" },
    which: { type: "string" },
    "by-position": { type: "boolean" },
    methods: { type: "string" },
  });
  const runs = required(v.runs, "runs");
  const which = (v.which ?? "sweep") as EvalKind;
  if (!EVAL_KINDS.includes(which)) throw new UsageError(`--which must be ${EVAL_KINDS.join(" or ")}, got '${v.which}'`);
  const methods = v.methods
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const byPosition = v["by-position"] ?? false;
  return formatTraceStyles(
    traceStyles(runs, { which, byPosition, ...(methods?.length ? { methods } : {}) }),
    byPosition,
  );
}

export const command: Command = {
  name: "diagnose",
  summary: "research probes of a trained model: packed-lookup, loops-accuracy, later-start, ladder, trace-styles",
  usage,
  async run(argv) {
    const [probe, ...rest] = argv;
    if (!probe || probe.startsWith("-")) throw new UsageError(`name a probe: ${PROBES.join(", ")}`);
    if (!(PROBES as readonly string[]).includes(probe))
      throw new UsageError(`unknown probe '${probe}'; probes: ${PROBES.join(", ")}`);
    for (const line of await runProbe(probe as (typeof PROBES)[number], rest)) console.log(line);
    return 0;
  },
};
