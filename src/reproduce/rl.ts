/**
 * Stage rl: one RL run per method and seed, each in its own run folder rl/<method>/seed-<k>/.
 * rlConfigFor builds each run's RlConfig from the reproduce config (the same RL settings for
 * every method, the budget from budget.ts); runRl trains them, in this process (rl.workers = 1)
 * or rl.workers at a time in worker processes (rl-pool.ts), and reports every metrics record
 * through `onStep(runName, record)` either way.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RlConfigSchema, type RlConfig } from "../rl/config.js";
import { trainRl } from "../rl/grpo.js";
import { runFile } from "../run/files.js";
import { RunFolder } from "../run/folder.js";
import { RunStopped } from "../run/interrupt.js";
import { deepMerge, parseConfig } from "../util/config.js";
import { RunBoard } from "../util/progress.js";
import { derive, singleBudgetOf, type Derived } from "./budget.js";
import type { MethodSpec, ReproduceConfig } from "./config.js";
import { readDataStats } from "./data.js";
import type { Layout, Log } from "./layout.js";
import { trainInWorker, type OnStep } from "./rl-pool.js";

const needsTarget = (m: MethodSpec) => m.kind === "penalty" && (m.shaping === "l1-exact" || m.shaping === "l1-max");

/** The RlConfig of one method and seed, built from the reproduce config (same RL budget for all). */
export function rlConfigFor(
  config: ReproduceConfig,
  method: MethodSpec,
  seed: number,
  derived: Derived,
  init: string,
  trainFile?: string,
): RlConfig {
  const r = config.rl;
  const ownBudget = singleBudgetOf(method, config, derived);
  const own: Record<string, unknown> = {
    ...(ownBudget !== undefined ? { method: `single@b${ownBudget}` } : {}),
    kind: method.kind,
    seed,
    init,
    steps: r.steps,
    task: {
      levels: config.data.levels,
      evalProblems: r.evalProblems,
      ...(trainFile ? { trainFile } : {}),
      ...(r.packMix ? { packMix: r.packMix } : {}),
    },
    sampling: {
      promptsPerStep: r.promptsPerStep,
      groupSize: r.groupSize,
      budget: method.kind === "bcr" ? derived.bcrBudget : (ownBudget ?? r.singleBudget),
    },
    optim: { lr: r.lr },
    eval: { every: r.evalEvery, n: 1, budget: r.evalBudget },
    diagnosticsEvery: r.diagnosticsEvery,
    checkpointEvery: r.checkpointEvery,
  };
  if (method.kind === "bcr") own.n = r.bcr.n;
  if (method.budgetSplit !== undefined) own.budgetSplit = method.budgetSplit;
  if (method.kind === "penalty") {
    own.shaping = {
      name: method.shaping,
      params: method.params,
      ...(needsTarget(method) ? { targetLength: method.targetLength ?? derived.targetLength } : {}),
    };
  }
  // The method's settings over rl.base, objects merged key by key, arrays and values replaced.
  const merged = deepMerge(r.base, own) as Record<string, unknown>;
  const parsed = parseConfig(
    merged,
    RlConfigSchema,
    `reproduce rl (${method.kind}${method.kind === "penalty" ? " " + method.shaping : ""}, seed ${seed})`,
  );
  return parseConfig({ ...merged, name: parsed.method }, RlConfigSchema, "reproduce rl");
}

export interface RunPlan {
  method: string;
  seed: number;
  dir: string;
  config: RlConfig;
}

export function planRuns(config: ReproduceConfig, L: Layout, derived: Derived): RunPlan[] {
  const plans = config.rl.methods.flatMap((m) =>
    config.seeds.map((seed) => {
      const c = rlConfigFor(config, m, seed, derived, L.sft, path.join(L.data, "train.jsonl"));
      return { method: c.method, seed, dir: path.join(L.rl, c.method, `seed-${seed}`), config: c };
    }),
  );
  const labels = new Set<string>();
  for (const p of plans) {
    const k = `${p.method}/${p.seed}`;
    if (labels.has(k))
      throw new Error(`rl.methods: two methods share the label ${p.method}; give them different parameters`);
    labels.add(k);
  }
  return plans;
}

/** `<method>/seed-<k>`: how onStep and the logs name a run. */
export const runName = (p: RunPlan) => `${p.method}/seed-${p.seed}`;

export async function runRl(
  config: ReproduceConfig,
  L: Layout,
  log: Log,
  progress: boolean,
  onStep?: OnStep,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const derived = derive(config, readDataStats(L));
  const plans = planRuns(config, L, derived);
  log(
    `[reproduce] rl: ${plans.length} runs (${[...new Set(plans.map((p) => p.method))].join(", ")} x seeds ${config.seeds.join(", ")}); ` +
      `bcr budget ${derived.bcrBudget} tokens for n=${JSON.stringify(config.rl.bcr.n)} (mean essential trace ${derived.meanEssentialTokens.toFixed(1)} tokens/problem), single/penalty budget ${config.rl.singleBudget}`,
  );
  for (const p of plans) {
    const cfgFile = runFile(p.dir, "config");
    if (fs.existsSync(cfgFile) && fs.readFileSync(cfgFile, "utf8") !== JSON.stringify(p.config, null, 2) + "\n") {
      log(`[reproduce] rl: ${p.dir} holds another config; starting that run over`);
      fs.rmSync(p.dir, { recursive: true, force: true });
    }
  }
  const results: Record<string, unknown>[] = [];
  // One console line per running run (step, reward, tokens/problem, ETA), fed by its metric records.
  const board = progress ? new RunBoard() : null;
  const report: OnStep | undefined =
    board || onStep
      ? (name, record) => {
          board?.record(name, record);
          onStep?.(name, record);
        }
      : undefined;
  const trainOne = async (p: RunPlan, i: number) => {
    log(`[reproduce] rl ${i + 1}/${plans.length}: ${p.method} seed ${p.seed} -> ${p.dir}`);
    const t0 = performance.now();
    const name = runName(p);
    const inWorker = config.rl.workers > 1;
    board?.start(name, { total: p.config.steps, log: runFile(p.dir, inWorker ? "log" : "metrics") });
    if (inWorker) {
      try {
        await trainInWorker(name, p.config, p.dir, report);
      } finally {
        board?.finish(name);
      }
      const summary = new RunFolder(p.dir).readSummary<{ steps: number; final?: Record<string, number> }>();
      results[i] = {
        method: p.method,
        seed: p.seed,
        step: summary.steps,
        finished: true,
        wall_s: (performance.now() - t0) / 1000,
        finalAccuracy: summary.final?.["eval/accuracy"] ?? null,
      };
    } else {
      const r = await trainRl(p.config, p.dir, {
        progress: false,
        ...(report ? { onMetrics: (record: Record<string, number>) => report(name, record) } : {}),
        ...(signal ? { signal } : {}),
      });
      board?.finish(name);
      if (!r.finished) throw new RunStopped(`rl ${name} (${p.dir})`, r.step);
      results[i] = {
        method: p.method,
        seed: p.seed,
        step: r.step,
        finished: r.finished,
        wall_s: (performance.now() - t0) / 1000,
        finalAccuracy: r.finalEval?.accuracy ?? null,
      };
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < plans.length && !signal?.aborted) {
      const i = next++;
      await trainOne(plans[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.rl.workers, plans.length) }, worker));
  return { derived, runs: results };
}
