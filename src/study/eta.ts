/**
 * The study's work, planned before it starts, with an ETA from work units. Per-unit costs come
 * from a committed run's stage times (docs/history/ladder/summary.json: the default run's SFT, RL and eval
 * wall times and its resolved config), divided by that run's work in the same units:
 *
 *   SFT    steps x batch x mean example tokens x layers x width^2 / data-parallel workers
 *          (per phase; the tokens from the examples the data stage will build, sftMeanTokens)
 *   RL     steps x prompts x rollouts x decodeTokens x layers x width^2        (per run; the
 *          runs' own wall times are summed, so rl.workers of the two runs cancels, and the
 *          study's RL time is divided by its rl.workers)
 *   eval   requests x decodeTokens x layers x width^2  (N=1 sampled + greedy + sweep packs, per model)
 *          decodeTokens: the prompt plus the batch's longest response, capped at the budget
 *          (the expected largest of a batch of the SFT examples' responses at that pack size)
 *   gate   as eval: N=1 requests, or two rounds per section of every forced-bare pack
 *
 * The eval stage runs rl.workers models at a time, so its units are divided by rl.workers as RL's
 * are. Once an experiment of the study has finished, its own stage times (rows meta.wall) replace
 * the older run as the basis (studyUnitCosts): the same engine, machine and parallelism. Each kind
 * takes the fastest rate any finished experiment (or its replicate under another kernel set)
 * measured: a stage run beside other work is only slower. Back-tested on the committed rows:
 * each of A, B and C predicted from the other two within 20% on SFT, RL, eval and the whole
 * (tests/study/eta.test.ts); before, pooled stage sums including A's paired SFT and B's loaded
 * RL and eval put C's plan at 1 h 29 min against 24.5 min.
 *
 * The gate has its own rate, from the gates measured (a study whose gate failed measured nothing
 * else): it is one SFT model decoding N=1 requests in this process, where the eval stage runs
 * rl.workers models at once over sweeps of packs. Priced at the eval stage's rate, A try 1's gate
 * came out at 293 s from B's stage times against 116 s measured; at the gate's own rate, 99 s
 * (and B's 69 s from A try 1's against 60 s; tests/study/eta.test.ts, on the committed rows).
 *
 * Why RL and eval count the batch's longest response and not the budget or the tokens written
 * (issue 31): a batch decodes until its longest response stops and the update pads to it, so a
 * step's cost follows the longest, which the budget only caps. In budget units the three
 * committed experiments' RL rates (seconds per unit) spread 27% and their eval rates 23%: C's
 * answers are short (bare, about 14 tokens), so its batches stop long before the budget, and
 * predicting A's RL from C's rate came out 22% short. Counted as prompt + the expected longest of
 * the batch (the quantile 1 - 1/(batch + 1) of the response tokens of DECODE_SAMPLE SFT examples),
 * they spread 11% (RL) and 14% (eval), and each experiment predicted from the other two lands
 * within 13% on RL, eval and the whole (A, B, C: RL 10% short, 5% short, 6% long; eval 9% short,
 * 10% long, 13% short; tests/study/eta.test.ts). The quantile is the batch's
 * expected maximum, not fitted; for the record, the spreads (RL, eval) on the same rows with
 * other choices: the mean response, i.e. tokens written, 12% and 16%; the median 13% and 25%; the
 * 95th percentile 8% and 17%; the longest example 14% and 11%; prompt + budget 32% and 23%. The
 * SFT examples are the starting style; RL shortens responses as it goes, which the rates absorb
 * where experiments shorten alike. The older finding on the ladder run (tokens generated
 * predicted its seven arms' times within -70%..+142%) was per arm:
 * seeds of one arm differ by up to half, so no unit is held to 20% per run, only per stage.
 *
 * The machine's sgemm peak (issue 31): the study records the machine's sgemm peak around each experiment
 * (rows meta.sgemm_peak), but the rates are not scaled by it. In the run that first recorded it
 * (December 7) the peak read 88.5 GFLOP/s before A and 147-161 from A's end on, while the stage
 * times of B and C matched a run whose peaks read 81-106: a short sgemm burst does not measure
 * how fast the study's work runs, and scaling by it would have put B and C's plan 40% short.
 *
 * Rough by construction (generation cost is not linear in the budget, the machine may be busy),
 * stated as such with its basis; while the study runs, the remaining work is rescaled by how the
 * finished items compared with their estimate.
 */
import * as fs from "node:fs";
import type { ReproduceConfig } from "../reproduce/config.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { readMarker } from "../reproduce/stages.js";
import { synthesizeSplits } from "../tasks/dataset.js";
import { buildSftExamples } from "../tasks/sft.js";
import { type Experiment, methodLabel, sftSeedConfig } from "./config.js";
import { continuationState } from "./continuation.js";

export type WorkKind = "sft" | "gate" | "rl" | "eval" | "continuation";

export interface WorkItem {
  experiment: string;
  sft: number;
  kind: WorkKind;
  /** Work units (see the header) and the estimated seconds. */
  units: number;
  seconds: number;
  done: boolean;
  what: string;
}

export interface UnitCosts {
  /** Seconds per unit of each kind (the gate's in eval units; gateUnits). */
  sft: number;
  rl: number;
  eval: number;
  gate: number;
  basis: string;
}

const modelScale = (c: ReproduceConfig) => c.sft.run.model.nLayer * c.sft.run.model.nEmbd ** 2;
const meanN = (n: number | number[]) => (Array.isArray(n) ? n.reduce((a, b) => a + b, 0) / n.length : n);
/** Mean essential trace tokens of one problem when the data stage has not run yet (default run: 32.3). */
const ESSENTIAL_TOKENS = 32.3;

/** Examples the SFT token estimate builds per phase: enough for a mean within a token or so. */
const TOKEN_SAMPLE = 2000;
const meanTokensCache = new Map<string, number>();

/**
 * Mean tokens of one SFT example (BOS, prompt, response, EOS) of a phase, from the first
 * TOKEN_SAMPLE examples the data stage would build (same data seed, mix, loops, merge, pack sizes
 * and example seed), in memory: the plan is made before any data stage runs. Batches are
 * length-bucketed (sft.ts), so a step's padded tokens are about batch x this mean; the context
 * length (blockSize) overstated C's packs of up to 8 problems by half against A's and B's.
 */
export function sftMeanTokens(c: ReproduceConfig, phase: { groupSizes: number[]; seed: number }): number {
  const d = c.data;
  const s = c.sft;
  const opts = {
    count: TOKEN_SAMPLE,
    groupSizes: phase.groupSizes,
    seed: phase.seed,
    mix: s.mix,
    loops: s.loops,
    merge: s.merge,
  };
  const key = JSON.stringify([d.seed, d.train, d.test, d.levels, opts]);
  let mean = meanTokensCache.get(key);
  if (mean === undefined) {
    const tok = new CharTokenizer();
    const examples = buildSftExamples(trainSplit(c), opts);
    mean =
      examples.reduce((a, e) => a + 2 + tok.encode(e.prompt).length + tok.encode(e.response).length, 0) /
      examples.length;
    meanTokensCache.set(key, mean);
  }
  return mean;
}

/** SFT units: per phase, steps x batch x mean example tokens / data-parallel workers, times the model scale. */
export function sftUnits(c: ReproduceConfig): number {
  const phase = (r: ReproduceConfig["sft"]["run"], p: { groupSizes: number[]; seed: number }) =>
    (r.train.steps * r.train.batchSize * sftMeanTokens(c, p)) / (r.train.workers ?? 1);
  return (phase(c.sft.run, c.sft) + (c.sft.extend ? phase(c.sft.extend.run, c.sft.extend) : 0)) * modelScale(c);
}

function bcrBudget(c: ReproduceConfig): number {
  const b = c.rl.bcr;
  return b.budget ?? Math.ceil(b.budgetFactor * meanN(b.n) * ESSENTIAL_TOKENS);
}

/** The train split the data stage will write, from memory (cached: the plan asks for it per phase and pack size). */
const splitsCache = new Map<string, ReturnType<typeof synthesizeSplits>["train"]>();
function trainSplit(c: ReproduceConfig): ReturnType<typeof synthesizeSplits>["train"] {
  const d = c.data;
  const key = JSON.stringify([d.seed, d.train, d.test, d.levels]);
  let train = splitsCache.get(key);
  if (train === undefined) {
    train = synthesizeSplits({ seed: d.seed, train: d.train, test: d.test, levels: d.levels }).train;
    splitsCache.set(key, train);
  }
  return train;
}

/** Examples the decoding estimate builds per pack size: enough for the 98.5th percentile. */
const DECODE_SAMPLE = 4000;
const packCache = new Map<string, PackTokens>();

/** Token counts of SFT examples of one pack size: the mean prompt (BOS included) and every response (EOS included), sorted. */
export interface PackTokens {
  prompt: number;
  sorted: number[];
}

/**
 * The prompt and response tokens of `DECODE_SAMPLE` examples the SFT stage would train on at pack
 * size n (same data seed, mix, loops and merge), in memory, before any stage runs: the style the
 * RL and eval models start from. Shared with scripts/study-flops.ts (its prompt lengths).
 */
export function packTokens(c: ReproduceConfig, n: number): PackTokens {
  const d = c.data;
  const s = c.sft;
  const key = JSON.stringify([d.seed, d.train, d.test, d.levels, n, s.mix, s.loops, s.merge]);
  let e = packCache.get(key);
  if (e === undefined) {
    const tok = new CharTokenizer();
    const examples = buildSftExamples(trainSplit(c), {
      count: DECODE_SAMPLE,
      groupSizes: [n],
      seed: d.seed,
      mix: s.mix,
      loops: s.loops,
      merge: s.merge,
    });
    e = {
      prompt: examples.reduce((a, x) => a + 1 + tok.encode(x.prompt).length, 0) / examples.length,
      sorted: examples.map((x) => tok.encode(x.response).length + 1).sort((a, b) => a - b),
    };
    packCache.set(key, e);
  }
  return e;
}

/**
 * Token positions one sequence of a batch of `batch` costs when it decodes a pack of n problems
 * under `budget`: the prompt (prefill, and the update's rows) plus the batch's longest response,
 * capped at the budget. The batch decodes until its longest response stops and the update pads
 * to it, so the longest is what a step pays for; it is the quantile 1 - 1/(batch + 1) (the
 * expected largest of `batch` draws) of packTokens' responses.
 */
export function decodeTokens(c: ReproduceConfig, n: number, budget: number, batch: number): number {
  const e = packTokens(c, n);
  const q = 1 - 1 / (batch + 1);
  const longest = e.sorted[Math.min(e.sorted.length - 1, Math.floor(q * e.sorted.length))]!;
  return e.prompt + Math.min(budget, longest);
}

/** RL units of every run of one SFT seed (methods x RL seeds), or of the given methods and steps. */
export function rlUnits(c: ReproduceConfig, methods = c.rl.methods, steps = c.rl.steps): number {
  const r = c.rl;
  const batch = r.promptsPerStep * r.groupSize;
  const packs = Array.isArray(r.bcr.n) ? r.bcr.n : [r.bcr.n];
  const perRollout = (m: (typeof methods)[number]) => {
    if (m.kind === "bcr") {
      // a step packs one of the listed sizes: their mean
      const b = bcrBudget(c);
      return packs.reduce((a, n) => a + decodeTokens(c, n, b, batch), 0) / packs.length;
    }
    const budget =
      m.budget === "bcr-per-problem" ? Math.floor(bcrBudget(c) / meanN(r.bcr.n)) : (m.budget ?? r.singleBudget);
    return decodeTokens(c, 1, budget, batch);
  };
  const perSeed = methods.reduce((s, m) => s + steps * batch * perRollout(m), 0);
  return perSeed * c.seeds.length * modelScale(c);
}

/** Eval units of `models` models: sampled and greedy N=1, and the sweep, each request at decodeTokens. */
export function evalUnits(c: ReproduceConfig, models: number): number {
  const e = c.eval;
  const samples = e.temperature > 0 ? e.samples : 1;
  const at = (n: number, budget: number) => decodeTokens(c, n, budget, e.batchSize);
  const n1 = (e.problems * samples + (e.greedy ? e.problems : 0)) * at(1, e.n1Budget);
  const sweep = e.ns.reduce((s, n) => s + Math.floor(e.problems / n) * e.rotations * samples * at(n, e.sweepBudget), 0);
  return models * (n1 + sweep) * modelScale(c);
}

/** Unit costs from a committed run's summary.json (see the header). */
export function unitCosts(summaryFile: string): UnitCosts {
  const s = JSON.parse(fs.readFileSync(summaryFile, "utf8")) as {
    config: ReproduceConfig & { eval: ReproduceConfig["eval"] & { samples?: number } };
    stage_markers: Record<string, { wall_s: number; info?: { runs?: { wall_s: number }[] } }>;
    cpu?: string;
    git_commit?: string;
  };
  const c = s.config;
  // Evals made before independent samples drew one sample per problem.
  const conf = { ...c, eval: { ...c.eval, samples: c.eval.samples ?? 1 } } as ReproduceConfig;
  const sftWall = s.stage_markers.sft!.wall_s;
  const runs = s.stage_markers.rl!.info?.runs ?? [];
  const rlWall = runs.length ? runs.reduce((a, r) => a + r.wall_s, 0) : s.stage_markers.rl!.wall_s * c.rl.workers;
  const models = 1 + c.rl.methods.length * c.seeds.length;
  const evalWall = s.stage_markers.eval!.wall_s;
  const evalRate = evalWall / evalUnits(conf, models);
  return {
    sft: sftWall / sftUnits(conf),
    rl: rlWall / rlUnits(conf),
    eval: evalRate,
    // A reproduce run measures no gate: its eval stage's rate stands in.
    gate: evalRate,
    basis:
      `${summaryFile} (commit ${(s.git_commit ?? "?").slice(0, 7)}, ${s.cpu ?? "unknown CPU"}): SFT ${sftWall.toFixed(0)} s, ` +
      `RL ${rlWall.toFixed(0)} run-seconds over ${runs.length} runs, eval ${evalWall.toFixed(0)} s over ${models} models; ` +
      "each scaled by steps x batch x context / workers (SFT), steps x prompts x rollouts x (prompt + the batch's longest response, capped at the budget) (RL), requests x the same (eval), requests x budget (gate), and layers x width^2",
  };
}

/** Work units of one experiment, summed over its SFT seeds, in the units its measured stage times divide. */
export function experimentUnits(exp: Experiment): { sft: number; rl: number; eval: number; gate: number } {
  const u = { sft: 0, rl: 0, eval: 0, gate: 0 };
  for (const k of exp.spec.sftSeeds) {
    const c = sftSeedConfig(exp, k, "unused");
    u.sft += sftUnits(c);
    u.rl += rlUnits(c) / c.rl.workers;
    u.eval += evalUnits(c, 1 + c.rl.methods.length * c.seeds.length) / c.rl.workers;
    u.gate += gateUnits(exp, c);
  }
  const cont = exp.spec.continuation;
  if (cont) {
    const c = sftSeedConfig(exp, cont.sftSeed ?? exp.spec.sftSeeds[0]!, "unused");
    const methods = c.rl.methods.filter((m) => cont.methods.includes(methodLabel(m)));
    u.rl += rlUnits(c, methods, cont.steps) / c.rl.workers;
  }
  return u;
}

/**
 * The stage times `costs` predict for a whole experiment, summed over its SFT seeds as its rows'
 * meta.wall records them (rl holds the continuation too): what the back-test compares.
 */
export function predictWall(
  exp: Experiment,
  costs: UnitCosts,
): { sft: number; gate: number; rl: number; eval: number } {
  const u = experimentUnits(exp);
  return { sft: u.sft * costs.sft, gate: u.gate * costs.gate, rl: u.rl * costs.rl, eval: u.eval * costs.eval };
}

/**
 * Unit costs measured by the study itself: the stage times of the experiments already finished
 * (their rows' meta.wall, summed over SFT seeds, and those of their replicates under other kernel
 * sets), each divided by its own experiment's units, and the fastest of them per kind. The same
 * engine, the same machine kind and the same parallelism as the work still to do, so a better basis
 * than an older run; null when no experiment has finished yet. A kind the finished experiments did
 * not measure (no RL after a failed gate) falls back to `fallback`. The gate has its own rate (the
 * header says why), so a gate-failed experiment's gates count.
 */
export function studyUnitCosts(
  finished: readonly { exp: Experiment; wall: Record<string, number | undefined>; file: string }[],
  fallback: UnitCosts | null,
): UnitCosts | null {
  if (finished.length === 0) return null;
  type Kind = "sft" | "rl" | "eval" | "gate";
  const kinds: Kind[] = ["sft", "rl", "eval", "gate"];
  // Each finished experiment's own seconds per unit, per kind it measured.
  const measured = finished.map(({ exp, wall: w, file }) => {
    const u = experimentUnits(exp);
    const walls: Record<Kind, number> = {
      sft: w.sft ?? 0,
      rl: (w.rl ?? 0) + (w.continuation ?? 0),
      eval: w.eval ?? 0,
      gate: w.gate ?? 0,
    };
    const rates = Object.fromEntries(
      kinds.map((k) => [k, walls[k] > 0 && u[k] > 0 ? walls[k] / u[k] : Number.NaN]),
    ) as Record<Kind, number>;
    return { id: exp.spec.id, file, walls, rates };
  });
  // The fastest rate per kind: a stage run beside other work (a paired SFT item, a helper's
  // tests) only ever runs slower than the machine alone, so the fastest measured rate is the
  // one closest to an idle run, which is what the plan estimates; the live ETA then rescales by
  // how the items actually go.
  const best = Object.fromEntries(
    kinds.map((k) => {
      const m = measured.filter((x) => Number.isFinite(x.rates[k])).sort((a, b) => a.rates[k] - b.rates[k])[0];
      return [k, m ?? null];
    }),
  ) as Record<Kind, (typeof measured)[number] | null>;
  const rate = (k: Kind) => best[k]?.rates[k] ?? fallback?.[k] ?? Number.NaN;
  const from = (k: Kind) => (best[k] ? `${k} ${best[k]!.walls[k].toFixed(0)} s of ${best[k]!.file}` : null);
  return {
    sft: rate("sft"),
    rl: rate("rl"),
    eval: rate("eval"),
    gate: rate("gate"),
    basis:
      `this study's finished experiments (${measured.map((m) => m.file).join(", ")}), the fastest rate per kind: ` +
      kinds
        .map(from)
        .filter((x) => x !== null)
        .join(", ") +
      "; scaled by the same work units" +
      (fallback && kinds.some((k) => best[k] === null)
        ? `; the kinds they did not measure from ${fallback.basis}`
        : ""),
  };
}

/** Gate units of one SFT seed: N=1 requests, or two rounds per section of every forced-bare pack. */
function gateUnits(exp: Experiment, c: ReproduceConfig): number {
  return exp.gates.reduce((s, g) => {
    const problems = g.problems ?? c.eval.problems;
    const samples = g.samples ?? c.eval.samples;
    const n = g.metric === "forced_bare_accuracy_n8" ? 8 : 1;
    const budget = g.budget ?? (n === 1 ? c.eval.n1Budget : c.eval.sweepBudget);
    const rounds = g.metric.startsWith("forced_bare") ? 2 : 1;
    return s + Math.floor(problems / n) * samples * budget * rounds * modelScale(c);
  }, 0);
}

/** Every work item of the study, with what is already done (stage markers, gate files). */
export function planStudy(experiments: readonly Experiment[], runsRoot: string, costs: UnitCosts): WorkItem[] {
  const items: WorkItem[] = [];
  for (const exp of experiments) {
    for (const k of exp.spec.sftSeeds) {
      const c = sftSeedConfig(exp, k, runsRoot);
      const done = (stage: string) => readMarker(c.runs, stage)?.status === "done";
      const add = (kind: WorkKind, units: number, rate: number, isDone: boolean, what: string) =>
        items.push({ experiment: exp.spec.id, sft: k, kind, units, seconds: units * rate, done: isDone, what });
      add(
        "sft",
        sftUnits(c),
        costs.sft,
        done("sft"),
        `SFT ${c.sft.run.train.steps}${c.sft.extend ? `+${c.sft.extend.run.train.steps}` : ""} steps`,
      );
      add(
        "gate",
        gateUnits(exp, c),
        costs.gate,
        fs.existsSync(`${c.runs}/gate.json`),
        `gate ${exp.gates.map((g) => g.metric).join(", ")}`,
      );
      const rlWorkers = c.rl.workers;
      add(
        "rl",
        rlUnits(c) / rlWorkers,
        costs.rl,
        done("rl"),
        `RL ${c.rl.methods.length} arms x ${c.seeds.length} seeds x ${c.rl.steps} steps`,
      );
      // The eval stage runs rl.workers models at a time (eval-pool.ts).
      add(
        "eval",
        evalUnits(c, 1 + c.rl.methods.length * c.seeds.length) / rlWorkers,
        costs.eval,
        done("eval"),
        `eval ${1 + c.rl.methods.length * c.seeds.length} models`,
      );
      const cont = exp.spec.continuation;
      if (cont && k === (cont.sftSeed ?? exp.spec.sftSeeds[0])) {
        const methods = c.rl.methods.filter((m) => cont.methods.includes(methodLabel(m)));
        const units = rlUnits(c, methods, cont.steps) / rlWorkers;
        add(
          "continuation",
          units,
          costs.rl,
          continuationState(exp, k, runsRoot).done,
          `continuation ${cont.methods.join(", ")} x ${c.seeds.length} seeds x ${cont.steps} steps (+ eval)`,
        );
      }
    }
  }
  return items;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = Math.round(s % 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${sec} s` : `${sec} s`;
}

/** The plan as lines: one per experiment and SFT seed, then the total. */
export function formatPlan(items: readonly WorkItem[], costs: UnitCosts): string[] {
  const lines: string[] = [];
  const keys = [...new Set(items.map((i) => `${i.experiment}|${i.sft}`))];
  for (const key of keys) {
    const its = items.filter((i) => `${i.experiment}|${i.sft}` === key);
    const [id, k] = key.split("|");
    lines.push(
      `  ${id} sft-${k}: ${its.map((i) => `${i.what} ~${formatDuration(i.seconds)}${i.done ? " (done)" : ""}`).join("; ")}`,
    );
  }
  const left = items.filter((i) => !i.done).reduce((s, i) => s + i.seconds, 0);
  const all = items.reduce((s, i) => s + i.seconds, 0);
  lines.push(
    `  estimated: ${formatDuration(left)} left of ${formatDuration(all)} (RL items after gates that may fail)`,
  );
  lines.push(`  basis: ${costs.basis}`);
  return lines;
}

/**
 * The study's work items as `bcr study --phase` commands (`command` is how to call `bcr study`,
 * with its --config, --runs and --out), per experiment in dependency order, one group per phase:
 * the items of a group run in parallel, each group after the one it names. What a cluster's job
 * array runs (docs/cluster.md); experiments are independent of each other.
 */
export function studyCommands(experiments: readonly Experiment[], command: string): string[] {
  const lines: string[] = [];
  for (const exp of experiments) {
    const id = exp.spec.id;
    const seeds = exp.spec.sftSeeds;
    const cmd = `${command} --experiment ${id}`;
    const cont = exp.spec.continuation;
    const c = exp.base;
    lines.push(
      `# experiment ${id}: ${seeds.length} SFT seeds x ${exp.spec.rlSeeds.length} RL seeds; threads per item: ` +
        `sft.run.train.workers ${c.sft.run.train.workers ?? 1}, rl.workers ${c.rl.workers} (give each job as many cores)`,
    );
    lines.push(`# ${id} phase sft: ${seeds.length} items in parallel (data, SFT, gate of one SFT seed each)`);
    for (const k of seeds) lines.push(`${cmd} --phase sft --sft-seed ${k}`);
    lines.push(
      `# ${id} phase rl: after every sft item of ${id} (the gate's majority rule needs them all); ${seeds.length} items in parallel (exit 0 doing nothing when the gate failed)`,
    );
    for (const k of seeds) lines.push(`${cmd} --phase rl --sft-seed ${k}`);
    if (cont) {
      lines.push(
        `# ${id} phase cont: after every sft item of ${id}; may run beside the rl items (it trains its own runs on SFT seed ${cont.sftSeed ?? seeds[0]})`,
      );
      lines.push(`${cmd} --phase cont`);
    }
    lines.push(
      `# ${id} phase judge: after every rl${cont ? " and cont" : ""} item of ${id}; writes the rows, report and verdicts`,
    );
    lines.push(`${cmd} --phase judge`);
  }
  return lines;
}
