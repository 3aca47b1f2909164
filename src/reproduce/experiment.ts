/**
 * The experiment's work, one function per stage: data, sft, rl, eval. Each is safe to call
 * again after an interruption (the units inside resume or skip themselves); the stage runner
 * (stages.ts) decides whether to call it at all.
 *
 * Layout of the runs folder:
 *   data/{train,test}.jsonl, manifest.json   synthetic problems (src/tasks)
 *   data/sft.jsonl, data/stats.json          SFT examples; trace-length statistics
 *   data/sft-extend.jsonl                    second-phase SFT examples (with sft.extend)
 *   sft/                                     the SFT model RL starts from (trainSft)
 *   sft-base/                                with sft.extend: the first phase; sft/ continues it
 *   rl/<method>/seed-<k>/                    one RL run per method and seed (trainRl)
 *   eval/<method>/[seed-<k>/]{n1,sweep}/     sweepN caches; eval.json per model
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { backendInfo } from "../engine/backend.js";
import { packProblems, withTargetPerProblem } from "../bcr/templates.js";
import type { Problem } from "../bcr/types.js";
import { loadLocal } from "../eval/load-local.js";
import { LocalModel } from "../eval/local-model.js";
import { sweepN, type SweepRow } from "../eval/sweep.js";
import type { CompletionModel } from "../eval/types.js";
import { RlConfigSchema, type RlConfig } from "../rl/config.js";
import { trainRl } from "../rl/grpo.js";
import { buildSftExamples } from "../tasks/sft.js";
import { loadSyntheticDataset, writeSyntheticDataset } from "../tasks/dataset.js";
import { countLoops, trace } from "../tasks/traces.js";
import { trainSft } from "../train/sft.js";
import type { SftConfig } from "../train/sft-config.js";
import { parseConfig } from "../util/config.js";
import { readJsonl, writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { Rng } from "../util/rng.js";
import { followJsonl, RunBoard } from "../util/progress.js";
import type { MethodSpec, ReproduceConfig } from "./config.js";

export type Log = (line: string) => void;

export interface Layout {
  runs: string; out: string;
  data: string; sft: string; sftBase: string; rl: string; eval: string; analysis: string;
}

export function layout(runs: string, out: string): Layout {
  return {
    runs, out,
    data: path.join(runs, "data"), sft: path.join(runs, "sft"), sftBase: path.join(runs, "sft-base"), rl: path.join(runs, "rl"),
    eval: path.join(runs, "eval"), analysis: path.join(runs, "analysis.json"),
  };
}

// ---------------------------------------------------------------------------------------------
// data

export interface DataStats {
  /** Mean length in tokens (chars) of one problem's trace as written in a packed response. */
  meanEssentialTokens: number;
  meanRedundantTokens: number;
  /** The same for the answer alone (shortcut). */
  meanShortcutTokens: number;
  sftExamples: number;
  sftStyleShares: Record<string, number>;
  /** With sft.extend: the second phase's example count. */
  sftExtendExamples?: number;
}

/** Per-problem length of each trace style, `k:` header and the separator included. */
export function traceLengths(problems: readonly Problem[], seed: number, loops?: [number, number]): Omit<DataStats, "sftExamples" | "sftStyleShares"> {
  const rng = new Rng(seed);
  const mean = (style: "essential" | "redundant" | "shortcut") =>
    problems.reduce((s, p) => s + `1:${trace(p.question, p.answer, style, rng, { loops })}`.length + 1, 0) / problems.length;
  return { meanEssentialTokens: mean("essential"), meanRedundantTokens: mean("redundant"), meanShortcutTokens: mean("shortcut") };
}

export function runData(config: ReproduceConfig, L: Layout): DataStats {
  const d = config.data;
  writeSyntheticDataset(L.data, { seed: d.seed, train: d.train, test: d.test, levels: d.levels });
  const train = loadSyntheticDataset(L.data, "train");
  const s = config.sft;
  // Both SFT phases share the trace mixture; each has its own count, pack sizes and seed.
  const writeExamples = (file: string, p: { examples: number; groupSizes: number[]; seed: number }) => {
    const out = buildSftExamples(train, { count: p.examples, groupSizes: p.groupSizes, seed: p.seed, mix: s.mix, loops: s.loops, merge: s.merge });
    writeFileAtomic(path.join(L.data, file), out.map((e) => JSON.stringify(e)).join("\n") + "\n");
    return out;
  };
  const examples = writeExamples("sft.jsonl", s);
  const extended = s.extend ? writeExamples("sft-extend.jsonl", s.extend) : null;
  const styles = examples.flatMap((e) => e.styles);
  const share = (st: string) => styles.filter((x) => x === st).length / styles.length;
  const stats: DataStats = {
    ...traceLengths(train, d.seed + 17, s.loops),
    sftExamples: examples.length,
    sftStyleShares: { essential: share("essential"), redundant: share("redundant"), shortcut: share("shortcut"), ...(s.mix.merged !== undefined ? { merged: share("merged") } : {}) },
    ...(extended ? { sftExtendExamples: extended.length } : {}),
  };
  writeJsonAtomic(path.join(L.data, "stats.json"), stats);
  return stats;
}

export function readDataStats(L: Layout): DataStats {
  return JSON.parse(fs.readFileSync(path.join(L.data, "stats.json"), "utf8")) as DataStats;
}

// ---------------------------------------------------------------------------------------------
// sft

export async function runSft(config: ReproduceConfig, L: Layout, log: Log, progress: boolean): Promise<Record<string, unknown>> {
  const ext = config.sft.extend;
  const first = await trainSftPhase(config.sft.run, "sft.jsonl", "sft.run", ext ? L.sftBase : L.sft, L, log, progress);
  if (!ext) return first;
  // The second phase starts from the first one's weights; trainSft lets its context grow.
  const second = await trainSftPhase({ ...ext.run, init: L.sftBase }, "sft-extend.jsonl", "sft.extend.run", L.sft, L, log, progress);
  return { ...second, base: first };
}

/** One SFT run on one examples file of the data stage (resumes or returns when already done). */
async function trainSftPhase(run: SftConfig, file: string, field: string, dir: string, L: Layout, log: Log, progress: boolean): Promise<Record<string, unknown>> {
  const all = readJsonl<{ prompt: string; response: string }>(path.join(L.data, file));
  // BOS + prompt + response + EOS must fit the context; longer examples are left out (counted).
  const fits = all.filter((e) => e.prompt.length + e.response.length + 2 <= run.model.blockSize);
  if (fits.length === 0) throw new Error(`no SFT example of data/${file} fits ${field}.model.blockSize ${run.model.blockSize}`);
  if (fits.length < all.length) log(`[reproduce] sft: ${all.length - fits.length} of ${all.length} examples of data/${file} exceed ${field}.model.blockSize ${run.model.blockSize} and are left out`);
  const r = await trainSft(run, fits.map((e) => ({ prompt: e.prompt, response: e.response })), dir, { progress: progress ? process.stderr : false });
  r.model.dispose();
  const last = r.losses[r.losses.length - 1];
  const ev = r.evalLosses[r.evalLosses.length - 1];
  return { examples: fits.length, dropped: all.length - fits.length, step: r.step, trainLoss: last?.loss ?? null, evalLoss: ev?.loss ?? null };
}

// ---------------------------------------------------------------------------------------------
// rl

export interface Derived {
  meanEssentialTokens: number;
  /** Response budget of the bcr runs (whole response, n problems). */
  bcrBudget: number;
  /** Target length of l1 runs that set none. */
  targetLength: number;
}

const meanN = (n: number | number[]) => (Array.isArray(n) ? n.reduce((a, b) => a + b, 0) / n.length : n);

export function derive(config: ReproduceConfig, stats: DataStats): Derived {
  const b = config.rl.bcr;
  return {
    meanEssentialTokens: stats.meanEssentialTokens,
    // With N drawn from a list the budget stays fixed, as in the paper: larger N get less room each.
    bcrBudget: b.budget ?? Math.ceil(b.budgetFactor * meanN(b.n) * stats.meanEssentialTokens),
    targetLength: Math.max(1, Math.round(stats.meanEssentialTokens)),
  };
}

const needsTarget = (m: MethodSpec) => m.kind === "penalty" && (m.shaping === "l1-exact" || m.shaping === "l1-max");

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** b over a, recursively for plain objects. */
export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** The RlConfig of one method and seed, built from the reproduce config (same RL budget for all). */
export function rlConfigFor(config: ReproduceConfig, method: MethodSpec, seed: number, derived: Derived, init: string, trainFile?: string): RlConfig {
  const r = config.rl;
  const own: Record<string, unknown> = {
    kind: method.kind,
    seed,
    init,
    steps: r.steps,
    task: { levels: config.data.levels, evalProblems: r.evalProblems, ...(trainFile ? { trainFile } : {}) },
    sampling: { promptsPerStep: r.promptsPerStep, groupSize: r.groupSize, budget: method.kind === "bcr" ? derived.bcrBudget : r.singleBudget },
    optim: { lr: r.lr },
    eval: { every: r.evalEvery, n: 1, budget: r.evalBudget },
    diagnosticsEvery: r.diagnosticsEvery,
    checkpointEvery: r.checkpointEvery,
  };
  if (method.kind === "bcr") own.n = r.bcr.n;
  if (method.kind === "penalty") {
    own.shaping = {
      name: method.shaping, params: method.params,
      ...(needsTarget(method) ? { targetLength: method.targetLength ?? derived.targetLength } : {}),
    };
  }
  const merged = deepMerge(r.base, own);
  const parsed = parseConfig(merged, RlConfigSchema, `reproduce rl (${method.kind}${method.kind === "penalty" ? " " + method.shaping : ""}, seed ${seed})`);
  return parseConfig({ ...merged, name: parsed.method }, RlConfigSchema, "reproduce rl");
}

export interface RunPlan { method: string; seed: number; dir: string; config: RlConfig }

export function planRuns(config: ReproduceConfig, L: Layout, derived: Derived): RunPlan[] {
  const plans = config.rl.methods.flatMap((m) => config.seeds.map((seed) => {
    const c = rlConfigFor(config, m, seed, derived, L.sft, path.join(L.data, "train.jsonl"));
    return { method: c.method, seed, dir: path.join(L.rl, c.method, `seed-${seed}`), config: c };
  }));
  const labels = new Set<string>();
  for (const p of plans) {
    const k = `${p.method}/${p.seed}`;
    if (labels.has(k)) throw new Error(`rl.methods: two methods share the label ${p.method}; give them different parameters`);
    labels.add(k);
  }
  return plans;
}

export async function runRl(config: ReproduceConfig, L: Layout, log: Log, progress: boolean): Promise<Record<string, unknown>> {
  const derived = derive(config, readDataStats(L));
  const plans = planRuns(config, L, derived);
  log(`[reproduce] rl: ${plans.length} runs (${[...new Set(plans.map((p) => p.method))].join(", ")} x seeds ${config.seeds.join(", ")}); ` +
    `bcr budget ${derived.bcrBudget} tokens for n=${JSON.stringify(config.rl.bcr.n)} (mean essential trace ${derived.meanEssentialTokens.toFixed(1)} tokens/problem), single/penalty budget ${config.rl.singleBudget}`);
  writeRlConfigs(config, derived, L);
  for (const p of plans) {
    const cfgFile = path.join(p.dir, "config.json");
    if (fs.existsSync(cfgFile) && fs.readFileSync(cfgFile, "utf8") !== JSON.stringify(p.config, null, 2) + "\n") {
      log(`[reproduce] rl: ${p.dir} holds another config; starting that run over`);
      fs.rmSync(p.dir, { recursive: true, force: true });
    }
  }
  const results: Record<string, unknown>[] = [];
  // One console line per running run (step, reward, tokens/problem, ETA), fed by its metric records.
  const board = progress ? new RunBoard() : null;
  const trainOne = async (p: RunPlan, i: number) => {
    log(`[reproduce] rl ${i + 1}/${plans.length}: ${p.method} seed ${p.seed} -> ${p.dir}`);
    const t0 = performance.now();
    const id = `${p.method}/seed-${p.seed}`;
    const child = config.rl.workers > 1;
    board?.start(id, { total: p.config.steps, log: path.join(p.dir, child ? "train.log" : "metrics.jsonl") });
    if (child) {
      const stop = board ? followJsonl(path.join(p.dir, "metrics.jsonl"), (r) => board.record(id, r)) : () => {};
      try { await trainInChild(p); } finally { stop(); board?.finish(id); }
      const summary = JSON.parse(fs.readFileSync(path.join(p.dir, "summary.json"), "utf8")) as { steps: number; final?: Record<string, number> };
      results[i] = { method: p.method, seed: p.seed, step: summary.steps, finished: true, wall_s: (performance.now() - t0) / 1000, finalAccuracy: summary.final?.["eval/accuracy"] ?? null };
    } else {
      const r = await trainRl(p.config, p.dir, { progress: false, onMetrics: (rec) => board?.record(id, rec) });
      board?.finish(id);
      results[i] = { method: p.method, seed: p.seed, step: r.step, finished: r.finished, wall_s: (performance.now() - t0) / 1000, finalAccuracy: r.finalEval?.accuracy ?? null };
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < plans.length) {
      const i = next++;
      await trainOne(plans[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.rl.workers, plans.length) }, worker));
  return { derived, runs: results };
}

/**
 * Train one run in a child `bcr train` process (its log in <run>/train.log): the wasm backend
 * computes on one thread, so separate processes are how RL runs use several cores.
 */
const children = new Set<ChildProcess>();
let reapOnExit = false;

function trainInChild(p: RunPlan): Promise<void> {
  if (!reapOnExit) {
    // A stopped reproduce must not leave its training processes running on their own.
    reapOnExit = true;
    process.on("exit", () => children.forEach((c) => c.kill("SIGTERM")));
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
  }
  fs.mkdirSync(p.dir, { recursive: true });
  const cfgFile = path.join(p.dir, "config.json");
  if (!fs.existsSync(cfgFile)) writeJsonAtomic(cfgFile, p.config);
  const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/bcr.js");
  const logFile = path.join(p.dir, "train.log");
  const out = fs.openSync(logFile, "a");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "train", "--config", cfgFile, "--out", p.dir], {
      stdio: ["ignore", out, out], env: { ...process.env, BCR_BACKEND: backendInfo()?.name ?? process.env.BCR_BACKEND ?? "auto" },
    });
    children.add(child);
    child.on("error", reject);
    child.on("exit", (code) => {
      children.delete(child);
      fs.closeSync(out);
      if (code === 0) resolve();
      else reject(new Error(`bcr train for ${p.method} seed ${p.seed} exited ${code}; see ${logFile}`));
    });
  });
}

/** configs/rl/<method>.json: the first seed's config, so `bcr train --config` reproduces one run. */
export function writeRlConfigs(config: ReproduceConfig, derived: Derived, L: Layout): string[] {
  if (!config.writeRlConfigs) return [];
  const written: string[] = [];
  for (const m of config.rl.methods) {
    const c = rlConfigFor(config, m, config.seeds[0]!, derived, L.sft, path.join(L.data, "train.jsonl"));
    const file = path.join(config.writeRlConfigs, `${c.method}.json`);
    writeJsonAtomic(file, c);
    written.push(file);
  }
  return written;
}

// ---------------------------------------------------------------------------------------------
// eval

export interface ModelRef { method: string; seed: number | null; checkpoint: string; dir: string; targetLength?: number }

export function modelsToEvaluate(config: ReproduceConfig, L: Layout, derived: Derived): ModelRef[] {
  return [
    { method: "sft", seed: null, checkpoint: L.sft, dir: path.join(L.eval, "sft") },
    ...planRuns(config, L, derived).map((p) => ({
      method: p.method, seed: p.seed, checkpoint: p.dir, dir: path.join(L.eval, p.method, `seed-${p.seed}`),
      ...(p.config.shaping.targetLength !== undefined ? { targetLength: p.config.shaping.targetLength } : {}),
    })),
  ];
}

/** What eval.json holds for one model. */
export interface ModelEval {
  method: string;
  seed: number | null;
  checkpoint: string;
  step: number;
  /** N=1 eval, one entry per test problem. */
  n1: { problemId: string; correct: boolean; tokens: number; loops: number; truncated: boolean }[];
  /** N-sweep rows (every N, group and position). */
  sweep: Pick<SweepRow, "n" | "group" | "position" | "problemId" | "correct" | "tokens" | "truncated" | "failed">[];
}

/**
 * Models trained with a target length in the prompt (L1) are asked the way they were trained:
 * `L<target * N> ` in front of every prompt (N counted from the `k:` sections).
 */
export function withPromptTarget(model: CompletionModel, perProblem: number): CompletionModel {
  return {
    name: model.name,
    complete: (reqs, opts) => model.complete(reqs.map((r) => {
      const n = Math.max(1, (r.prompt.match(/(?:^| )\d+:/g) ?? []).length);
      return { ...r, prompt: withTargetPerProblem({ text: r.prompt, n, ids: [], golds: [], template: "compact" }, perProblem).text };
    }), opts),
  };
}

interface CacheLine { key: { n: number; group: number }; ids: string[]; response: string; finishReason: string }

export async function evaluateModel(ref: ModelRef, config: ReproduceConfig, problems: Problem[], log: Log, progress: boolean): Promise<ModelEval> {
  const { gpt, tokenizer, step } = await loadLocal(ref.checkpoint);
  const name = ref.seed === null ? ref.method : `${ref.method}/seed-${ref.seed}`;
  try {
    const local = new LocalModel({ model: gpt, tokenizer, name, maxBatch: config.eval.batchSize });
    const model = ref.targetLength !== undefined ? withPromptTarget(local, ref.targetLength) : local;
    const e = config.eval;
    const common = { model, problems, batchSize: e.batchSize, seed: config.analysis.seed, temperature: config.eval.temperature, progress: progress ? process.stderr : (false as const), bootstrapResamples: config.analysis.bootstrap };
    const n1Dir = path.join(ref.dir, "n1");
    const n1 = await sweepN({ ...common, ns: [1], budget: { kind: "fixed", tokens: e.n1Budget }, outDir: n1Dir, rotations: 1 });
    const loops = new Map<string, number>();
    for (const rec of readJsonl<CacheLine>(path.join(n1Dir, "cache.jsonl"))) loops.set(rec.ids[0]!, countLoops(rec.response));
    const sw = await sweepN({ ...common, ns: e.ns, budget: { kind: "fixed", tokens: e.sweepBudget }, outDir: path.join(ref.dir, "sweep"), rotations: e.rotations });
    const failed = n1.rows.filter((r) => r.failed).length + sw.rows.filter((r) => r.failed).length;
    if (failed > 0) log(`[reproduce] eval ${name}: ${failed} rows failed (e.g. prompt longer than the context); they are left out of the means`);
    const out: ModelEval = {
      method: ref.method, seed: ref.seed, checkpoint: ref.checkpoint, step,
      n1: n1.rows.filter((r) => !r.failed).map((r) => ({ problemId: r.problemId, correct: r.correct, tokens: r.tokens, loops: loops.get(r.problemId) ?? 0, truncated: r.truncated })),
      sweep: sw.rows.map((r) => ({ n: r.n, group: r.group, position: r.position, problemId: r.problemId, correct: r.correct, tokens: r.tokens, truncated: r.truncated, failed: r.failed })),
    };
    writeJsonAtomic(path.join(ref.dir, "eval.json"), out);
    return out;
  } finally {
    gpt.dispose();
  }
}

export async function runEval(config: ReproduceConfig, L: Layout, log: Log, progress: boolean): Promise<Record<string, unknown>> {
  const derived = derive(config, readDataStats(L));
  const test = loadSyntheticDataset(L.data, "test");
  if (test.length < config.eval.problems) log(`[reproduce] eval: only ${test.length} test problems (eval.problems ${config.eval.problems})`);
  const problems = test.slice(0, config.eval.problems);
  const refs = modelsToEvaluate(config, L, derived);
  const maxPrompt = Math.max(...config.eval.ns.map((n) => packProblems(problems.slice(0, n)).text.length + 1));
  const blockSize = config.sft.run.model.blockSize;
  const warnings: string[] = [];
  if (maxPrompt + config.eval.sweepBudget > blockSize) {
    warnings.push(`sweep: prompt (up to ~${maxPrompt} tokens at N=${Math.max(...config.eval.ns)}) + budget ${config.eval.sweepBudget} exceeds blockSize ${blockSize}; the budget is clamped to the context at large N`);
  }
  for (const w of warnings) log(`[reproduce] eval: warning: ${w}`);
  for (const [i, ref] of refs.entries()) {
    const done = path.join(ref.dir, "eval.json");
    if (fs.existsSync(done)) {
      log(`[reproduce] eval ${i + 1}/${refs.length}: ${ref.method}${ref.seed === null ? "" : ` seed ${ref.seed}`} done earlier`);
      continue;
    }
    log(`[reproduce] eval ${i + 1}/${refs.length}: ${ref.method}${ref.seed === null ? "" : ` seed ${ref.seed}`} (${problems.length} problems, N=1 budget ${config.eval.n1Budget}; sweep N=${config.eval.ns.join(",")} at fixed ${config.eval.sweepBudget})`);
    await evaluateModel(ref, config, problems, log, progress);
  }
  return { models: refs.length, problems: problems.length, warnings };
}

export function readEvals(config: ReproduceConfig, L: Layout): ModelEval[] {
  const derived = derive(config, readDataStats(L));
  return modelsToEvaluate(config, L, derived).map((ref) => JSON.parse(fs.readFileSync(path.join(ref.dir, "eval.json"), "utf8")) as ModelEval);
}
