/**
 * Stage eval: every model (the SFT model, each RL run) on the held-out test problems, at N=1 and
 * over the N-sweep, with sweepN's caches under eval/<method>/[seed-<k>/] (resumable) and one
 * eval.json per model that the analysis stage reads. The models are evaluated rl.workers at a
 * time, each whole in one worker thread (eval-pool.ts), or one after another in this process
 * (rl.workers = 1); every request has its own seed, so the files are the same either way.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { packProblems } from "../bcr/templates.js";
import type { Problem } from "../bcr/types.js";
import { loadLocal } from "../train/load-local.js";
import { LocalModel } from "../model/local-model.js";
import { ladderTable, type LadderRow } from "../diagnostics/ladder.js";
import { sweepN, type SweepRow } from "../eval/sweep.js";
import { loadSyntheticDataset } from "../tasks/dataset.js";
import { countLoops, traceStyleOf, type TraceStyle } from "../tasks/traces.js";
import { readJsonl, writeJsonAtomic } from "../util/fsx.js";
import type { ProgressStream } from "../util/progress.js";
import { derive, type Derived } from "./budget.js";
import type { ReproduceConfig } from "./config.js";
import { readDataStats } from "./data.js";
import { evaluateInThreads } from "./eval-pool.js";
import type { Layout, Log } from "./layout.js";
import { withPromptTarget } from "./prompt-target.js";
import { planRuns } from "./rl.js";

/** The file in each model's eval folder that the analysis stage reads. */
export const EVAL_FILE = "eval.json";

export interface ModelRef {
  method: string;
  seed: number | null;
  checkpoint: string;
  dir: string;
  targetLength?: number;
}

export function modelsToEvaluate(config: ReproduceConfig, L: Layout, derived: Derived): ModelRef[] {
  return [
    { method: "sft", seed: null, checkpoint: L.sft, dir: path.join(L.eval, "sft") },
    ...planRuns(config, L, derived).map((p) => ({
      method: p.method,
      seed: p.seed,
      checkpoint: p.dir,
      dir: path.join(L.eval, p.method, `seed-${p.seed}`),
      ...(p.config.shaping.targetLength !== undefined ? { targetLength: p.config.shaping.targetLength } : {}),
    })),
  ];
}

export interface N1EvalRow {
  problemId: string;
  /** Which independent draw (0..eval.samples-1; 0 under greedy). Absent in evals made before samples were drawn independently. */
  sample?: number;
  correct: boolean;
  tokens: number;
  loops: number;
  truncated: boolean;
  style?: TraceStyle;
}

/** What eval.json holds for one model. */
export interface ModelEval {
  method: string;
  seed: number | null;
  checkpoint: string;
  step: number;
  /** N=1 eval, one entry per test problem; `style`: the trace style it was written in (absent in evals made before it was recorded). */
  n1: N1EvalRow[];
  /** The N=1 eval under greedy decoding (with eval.greedy). */
  n1Greedy?: N1EvalRow[];
  /** N-sweep rows (every N, group, sample and position; `sample` absent in evals made before samples were drawn independently). */
  sweep: (Pick<SweepRow, "n" | "group" | "position" | "problemId" | "correct" | "tokens" | "truncated" | "failed"> & {
    sample?: number;
  })[];
  /**
   * The SFT model's compression ladder (src/diagnostics/ladder.ts: N=1, greedy, the N=1 budget),
   * when its SFT mix teaches the shorter forms (hasLadder). stepsRight is null where no steps were written.
   */
  ladder?: LadderRow[];
}

/** Whether the SFT data teaches the ladder's shorter forms (terse or bare), so the ladder table means something. */
export function hasLadder(config: ReproduceConfig): boolean {
  return config.sft.mix.terse !== undefined || config.sft.mix.bare !== undefined;
}

interface CacheLine {
  key: { n: number; group: number; sample?: number };
  ids: string[];
  response: string;
  finishReason: string;
}

/** One model's eval: its sweep caches and eval.json under ref.dir. `progress`: true for stderr, or a stream. */
export async function evaluateModel(
  ref: ModelRef,
  config: ReproduceConfig,
  problems: Problem[],
  log: Log,
  progress: boolean | ProgressStream,
  signal?: AbortSignal,
): Promise<ModelEval> {
  const { gpt, tokenizer, step } = await loadLocal(ref.checkpoint);
  const name = ref.seed === null ? ref.method : `${ref.method}/seed-${ref.seed}`;
  try {
    const local = new LocalModel({ model: gpt, tokenizer, name, maxBatch: config.eval.batchSize });
    const model = ref.targetLength !== undefined ? withPromptTarget(local, ref.targetLength) : local;
    const e = config.eval;
    const common = {
      model,
      problems,
      batchSize: e.batchSize,
      seed: config.analysis.seed,
      temperature: config.eval.temperature,
      samples: config.eval.samples,
      progress: progress === true ? process.stderr : progress,
      bootstrapResamples: config.analysis.bootstrap,
      signal, // sweepN stops before its next batch of groups once aborted (the cache keeps what is done)
    };
    // One N=1 eval: its rows with each response's re-check count and trace style (from the cache).
    // Its own sampling streams (`stream`: the folder's name), independent of the sweep's N=1 point.
    const evalN1 = async (dir: string, temperature: number) => {
      const r = await sweepN({
        ...common,
        temperature,
        ns: [1],
        budget: { kind: "fixed", tokens: e.n1Budget },
        outDir: path.join(ref.dir, dir),
        rotations: 1,
        stream: dir,
      });
      const responses = new Map<string, string>();
      for (const rec of readJsonl<CacheLine>(path.join(ref.dir, dir, "cache.jsonl")))
        responses.set(`${rec.ids[0]!}|${rec.key.sample ?? 0}`, rec.response);
      const rows: N1EvalRow[] = r.rows
        .filter((x) => !x.failed)
        .map((x) => {
          const text = responses.get(`${x.problemId}|${x.sample}`) ?? "";
          return {
            problemId: x.problemId,
            sample: x.sample,
            correct: x.correct,
            tokens: x.tokens,
            loops: countLoops(text),
            truncated: x.truncated,
            style: traceStyleOf(text),
          };
        });
      return { rows, failed: r.rows.filter((x) => x.failed).length };
    };
    const n1 = await evalN1("n1", e.temperature);
    const greedy = e.greedy ? await evalN1("n1-greedy", 0) : null;
    const ladder =
      ref.method === "sft" && hasLadder(config)
        ? await ladderTable(model, problems, { budget: e.n1Budget, temperature: 0 })
        : null;
    const sw = await sweepN({
      ...common,
      ns: e.ns,
      budget: { kind: "fixed", tokens: e.sweepBudget },
      outDir: path.join(ref.dir, "sweep"),
      rotations: e.rotations,
    });
    const failed = n1.failed + (greedy?.failed ?? 0) + sw.rows.filter((r) => r.failed).length;
    if (failed > 0)
      log(
        `[reproduce] eval ${name}: ${failed} rows failed (e.g. prompt longer than the context); they are left out of the means`,
      );
    const out: ModelEval = {
      method: ref.method,
      seed: ref.seed,
      checkpoint: ref.checkpoint,
      step,
      n1: n1.rows,
      ...(greedy ? { n1Greedy: greedy.rows } : {}),
      ...(ladder ? { ladder } : {}),
      sweep: sw.rows.map((r) => ({
        n: r.n,
        group: r.group,
        sample: r.sample,
        position: r.position,
        problemId: r.problemId,
        correct: r.correct,
        tokens: r.tokens,
        truncated: r.truncated,
        failed: r.failed,
      })),
    };
    writeJsonAtomic(path.join(ref.dir, EVAL_FILE), out);
    return out;
  } finally {
    gpt.dispose();
  }
}

export async function runEval(
  config: ReproduceConfig,
  L: Layout,
  log: Log,
  progress: boolean,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const derived = derive(config, readDataStats(L));
  const test = loadSyntheticDataset(L.data, "test");
  if (test.length < config.eval.problems)
    log(`[reproduce] eval: only ${test.length} test problems (eval.problems ${config.eval.problems})`);
  const problems = test.slice(0, config.eval.problems);
  const refs = modelsToEvaluate(config, L, derived);
  const maxPrompt = Math.max(...config.eval.ns.map((n) => packProblems(problems.slice(0, n)).text.length + 1));
  const blockSize = config.sft.run.model.blockSize;
  const warnings: string[] = [];
  if (maxPrompt + config.eval.sweepBudget > blockSize) {
    warnings.push(
      `sweep: prompt (up to ~${maxPrompt} tokens at N=${Math.max(...config.eval.ns)}) + budget ${config.eval.sweepBudget} exceeds blockSize ${blockSize}; the budget is clamped to the context at large N`,
    );
  }
  for (const w of warnings) log(`[reproduce] eval: warning: ${w}`);
  await evaluateModels(refs, config, problems, log, progress, signal);
  return { models: refs.length, problems: problems.length, warnings };
}

/**
 * Evaluate the models of `refs` that have no eval.json yet (finished ones are kept), `workers` at
 * a time: one after another in this process when 1 (or one model is left), else each whole in a
 * worker thread (eval-pool.ts). The files are the same either way.
 */
export async function evaluateModels(
  refs: ModelRef[],
  config: ReproduceConfig,
  problems: Problem[],
  log: Log,
  progress: boolean,
  signal?: AbortSignal,
  workers = config.rl.workers,
): Promise<void> {
  const label = (i: number, ref: ModelRef) =>
    `[reproduce] eval ${i + 1}/${refs.length}: ${ref.method}${ref.seed === null ? "" : ` seed ${ref.seed}`}`;
  const todo: { index: number; ref: ModelRef }[] = [];
  for (const [index, ref] of refs.entries()) {
    if (fs.existsSync(path.join(ref.dir, EVAL_FILE))) log(`${label(index, ref)} done earlier`);
    else todo.push({ index, ref });
  }
  const announce = (i: number, ref: ModelRef) =>
    log(
      `${label(i, ref)} (${problems.length} problems, N=1 budget ${config.eval.n1Budget}; sweep N=${config.eval.ns.join(",")} at fixed ${config.eval.sweepBudget})`,
    );
  if (Math.min(workers, todo.length) > 1) {
    await evaluateInThreads(todo, {
      workers,
      config,
      problems,
      log,
      progress,
      announce,
      ...(signal ? { signal } : {}),
    });
    return;
  }
  for (const { index, ref } of todo) {
    signal?.throwIfAborted();
    announce(index, ref);
    await evaluateModel(ref, config, problems, log, progress, signal);
  }
}

export function readEvals(config: ReproduceConfig, L: Layout): ModelEval[] {
  const derived = derive(config, readDataStats(L));
  return modelsToEvaluate(config, L, derived).map(
    (ref) => JSON.parse(fs.readFileSync(path.join(ref.dir, EVAL_FILE), "utf8")) as ModelEval,
  );
}
