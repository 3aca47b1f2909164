/**
 * What the notebooks share, so their cells stay one step each:
 *
 * - `findReproduceOutputs`: where `bcr reproduce` (`npm start`) put its outputs, if it did. Layout
 *   (src/reproduce/layout.ts, report.ts): `runs/reproduce/sft/` (SFT run), `rl/<method>/seed-<k>/`
 *   (RL runs), `eval/<method>/[seed-<k>/]sweep/` (N-sweeps), and `results/claims.json`,
 *   `results/summary.json`, the data's levels (`data/manifest.json`); plus a committed demo SFT
 *   checkpoint `results/models/sft/`. Read only.
 * - `trainQuickRuns`: the tiny stand-ins the notebooks make when those outputs are absent (or in
 *   QUICK mode): SFT on packed synthetic problems, then GRPO runs `single`, `bcr` (N = 3) and
 *   `linear@1` (penalty, linear shaping, lambda 1) from that checkpoint. Runs already finished in
 *   `outDir` are reused, so the notebooks share one set; "finished" means a done marker (SFT:
 *   `sft/done.json`, RL: `summary.json`, both written last). A folder without one (a run cut off
 *   by a timeout) is never reused silently: trainQuickRuns stops and says so. The small (full)
 *   settings take tens of minutes, so they train only when asked (`train: true`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RlConfigSchema } from "../rl/config.js";
import { trainRl } from "../rl/grpo.js";
import { generateProblems } from "../tasks/synthetic.js";
import { buildSftExamples } from "../tasks/sft.js";
import { latestCheckpoint } from "../run/checkpoint.js";
import { checkpointsDir, latestPointer, runFile } from "../run/files.js";
import { SftConfigSchema } from "../train/sft-config.js";
import { trainSft } from "../train/sft.js";
import { parseConfig } from "../util/config.js";
import { subdirectories, writeJsonAtomic } from "../util/fsx.js";

/** Settings of the tiny runs: QUICK (seconds) or full (small, tens of minutes). */
export function quickSettings(quick: boolean) {
  // QUICK: 2-step digit chains (level 5, answers 0-9), which a 120-step model gets right now and then
  // (13% at N = 1 on 16 problems when tried, near the 10% of a guess), so its plots are not flat
  // zeros; with level 1 it scored 0 at every N. Its numbers remain a smoke test.
  const levels = quick ? [5] : [1, 2];
  return {
    levels,
    sft: quick
      ? {
          name: "tiny-sft",
          model: { nEmbd: 32, nLayer: 1, nHead: 2, blockSize: 256 },
          train: { steps: 120, batchSize: 16, evalEvery: 0, checkpointEvery: 0 },
          optim: { lr: 1e-2, minLr: 1e-3, warmupSteps: 10 },
        }
      : {
          name: "small-sft",
          model: { nEmbd: 64, nLayer: 2, nHead: 4, blockSize: 384 },
          train: { steps: 1500, batchSize: 32, evalEvery: 250, checkpointEvery: 500 },
          optim: { lr: 3e-3, minLr: 3e-4, warmupSteps: 50 },
        },
    /** SFT examples built from 2000 training problems. */
    sftExamples: quick ? 800 : 20000,
    rl: quick
      ? {
          steps: 6,
          task: { levels, evalProblems: 16 },
          sampling: { promptsPerStep: 4, groupSize: 4, budget: 64 },
          eval: { every: 2, budget: 64 },
          diagnosticsEvery: 1,
          checkpointEvery: 0,
          samplesEvery: 2,
        }
      : { steps: 150, task: { levels }, sampling: { budget: 160 }, eval: { every: 10 } },
    kinds: [
      { kind: "single" },
      { kind: "bcr", n: 3 },
      { kind: "penalty", shaping: { name: "linear", params: { lambda: 1 } } },
    ] as Record<string, unknown>[],
  };
}

export interface QuickRunOptions {
  /** Tiny (QUICK) or small (full) settings; default true. */
  quick?: boolean;
  /** Train the RL runs too (default true); false: the SFT model only. */
  rl?: boolean;
  /** One line per run made or reused (default console.log; null for none). */
  log?: ((line: string) => void) | null;
  /** Full settings only: train what is missing (tens of minutes). Without it, trainQuickRuns throws instead. */
  train?: boolean;
  /**
   * Called as each run starts; the returned watcher gets every metrics record (a notebook's
   * LiveTraining) and is finished when the run ends.
   */
  watch?: (run: {
    method: string;
    total: number;
    stage: "sft" | "rl";
  }) => { onMetrics: (r: Record<string, unknown>) => void; finish?: () => Promise<void> } | null;
}

export interface QuickRuns {
  /** The SFT run folder (a model for loadLocalModel). */
  sft: string;
  /** The folder of the RL runs (for readRuns), `<method>-s<seed>/` inside. */
  rl: string;
  /** The RL run folders, in the order trained. */
  runs: string[];
  /** Difficulty levels the runs trained on (use the same for held-out problems). */
  levels: number[];
}

/** SFT, then the RL runs, under `outDir` (`sft/`, `rl/<method>-s<seed>/`); finished runs are reused. */
export async function trainQuickRuns(outDir: string, opts: QuickRunOptions = {}): Promise<QuickRuns> {
  const quick = opts.quick ?? true;
  const log = opts.log === undefined ? (l: string) => console.log(l) : (opts.log ?? (() => {}));
  const s = quickSettings(quick);
  const sft = path.join(outDir, "sft");
  const mayTrain = (what: string) => {
    if (!quick && !opts.train) {
      throw new Error(
        `${what} is not there and the small runs take tens of minutes: nothing was trained. ` +
          "Run `npm start` (the reproduction) first, or pass { train: true } to train the small runs here.",
      );
    }
  };
  if (fs.existsSync(path.join(sft, SFT_DONE))) log(`sft: reusing the finished run in ${sft}`);
  else {
    if (latestCheckpoint(checkpointsDir(sft)) !== null) throw unfinished(sft, "sft");
    mayTrain(`A finished SFT run in ${sft}`);
    const examples = buildSftExamples(generateProblems(1, 2000, s.levels, "train"), {
      count: s.sftExamples,
      groupSizes: [1, 2, 3],
      seed: 2,
    });
    const config = parseConfig(s.sft, SftConfigSchema, "notebook");
    const watcher = opts.watch?.({ method: "sft", total: config.train.steps, stage: "sft" }) ?? null;
    const run = await trainSft(config, examples, sft, {
      resume: false,
      progress: false,
      ...(watcher ? { onMetrics: watcher.onMetrics } : {}),
    });
    await watcher?.finish?.();
    run.model.dispose();
    writeJsonAtomic(path.join(sft, SFT_DONE), { steps: run.step, finalLoss: run.losses.at(-1)?.loss ?? null });
    log(`sft: ${run.step} steps, final loss ${run.losses.at(-1)?.loss.toFixed(3)} -> ${sft}`);
  }
  const rl = path.join(outDir, "rl");
  const runs: string[] = [];
  for (const k of opts.rl === false ? [] : s.kinds) {
    const config = parseConfig({ ...s.rl, ...k, name: k.kind, init: sft }, RlConfigSchema, "notebook");
    const dir = path.join(rl, `${config.method}-s${config.seed}`);
    runs.push(dir);
    if (fs.existsSync(runFile(dir, "summary"))) {
      log(`${config.method}: reusing the finished run in ${dir}`);
      continue;
    }
    if (fs.existsSync(dir)) throw unfinished(dir, "rl");
    mayTrain(`A finished ${config.method} run in ${dir}`);
    const watcher = opts.watch?.({ method: config.method, total: config.steps, stage: "rl" }) ?? null;
    const res = await trainRl(config, dir, { progress: false, ...(watcher ? { onMetrics: watcher.onMetrics } : {}) });
    await watcher?.finish?.();
    log(
      `${config.method}: ${res.step} steps, final eval accuracy ${res.finalEval?.accuracy.toFixed(3)}, tokens/problem ${res.finalEval?.tokensPerProblem.toFixed(1)}`,
    );
  }
  return { sft, rl, runs, levels: s.levels };
}

/** Written into an SFT run folder after its last step: the run may be reused. */
export const SFT_DONE = "done.json";

function unfinished(dir: string, stage: "sft" | "rl"): Error {
  return new Error(
    `${dir} holds an unfinished ${stage === "sft" ? "SFT" : "RL"} run (no ${stage === "sft" ? SFT_DONE : "summary.json"}: ` +
      "it was stopped, e.g. by a timeout). It is not reused: delete the folder to train it again.",
  );
}

export interface ReproduceOutputs {
  /** `runs/reproduce/sft` once the SFT stage is done. */
  sft: string | null;
  /** `runs/reproduce/rl` when it holds a finished run (pass it to readRuns). */
  rl: string | null;
  /** Finished RL runs (summary.json written): `runs/reproduce/rl/<method>/seed-<k>`. */
  rlRuns: string[];
  /** Finished N-sweeps: `runs/reproduce/eval/<method>/[seed-<k>/]sweep` (summary.json inside). */
  sweeps: { method: string; seed: number | null; dir: string }[];
  claims: string | null;
  summary: string | null;
  /** `runs/reproduce/data` (train/test JSONL, manifest.json) and its difficulty levels. */
  data: string | null;
  levels: number[] | null;
  /** A committed demo SFT checkpoint, `results/models/sft`. */
  demoSft: string | null;
  /** The SFT model to use: the reproduction's, else the demo checkpoint, else null. */
  model: string | null;
  /** `results/` when it holds a reproduction's summary.json (committed or from `npm start`): readResults reads it. */
  results: string | null;
}

const ifExists = (p: string): string | null => (fs.existsSync(p) ? p : null);
const seedOf = (name: string): number | null => (/^seed-(\d+)$/.test(name) ? Number(name.slice(5)) : null);

/** Done per its stage marker; a folder without markers (copied elsewhere) counts when it holds a checkpoint. */
function sftDone(runs: string): boolean {
  const marker = path.join(runs, ".reproduce", "sft.json");
  if (fs.existsSync(marker)) {
    try {
      return (JSON.parse(fs.readFileSync(marker, "utf8")) as { status?: string }).status === "done";
    } catch {
      return false;
    }
  }
  return fs.existsSync(latestPointer(path.join(runs, "sft")));
}

/** What `bcr reproduce` wrote under `root` (the repository; `..` from notebooks/), only what is finished. */
export function findReproduceOutputs(root = "."): ReproduceOutputs {
  const runs = path.join(root, "runs", "reproduce");
  const results = path.join(root, "results");
  const rlRoot = path.join(runs, "rl");
  const rlRuns = subdirectories(rlRoot)
    .flatMap((m) =>
      subdirectories(path.join(rlRoot, m))
        .filter((s) => seedOf(s) !== null)
        .map((s) => path.join(rlRoot, m, s)),
    )
    .filter((d) => fs.existsSync(runFile(d, "summary")));
  const evalRoot = path.join(runs, "eval");
  const sweeps = subdirectories(evalRoot)
    .flatMap((m) => [
      { method: m, seed: null as number | null, dir: path.join(evalRoot, m, "sweep") },
      ...subdirectories(path.join(evalRoot, m))
        .filter((s) => seedOf(s) !== null)
        .map((s) => ({ method: m, seed: seedOf(s), dir: path.join(evalRoot, m, s, "sweep") })),
    ])
    .filter((s) => fs.existsSync(path.join(s.dir, "summary.json")));
  const sft = sftDone(runs) ? path.join(runs, "sft") : null;
  const demoSft = ifExists(path.join(results, "models", "sft"));
  const manifest = path.join(runs, "data", "manifest.json");
  let levels: number[] | null = null;
  try {
    levels =
      (JSON.parse(fs.readFileSync(manifest, "utf8")) as { generator?: { levels?: number[] } }).generator?.levels ??
      null;
  } catch {
    levels = null; // absent or being written
  }
  return {
    sft,
    rl: rlRuns.length ? rlRoot : null,
    rlRuns,
    sweeps,
    data: levels ? path.dirname(manifest) : null,
    levels,
    claims: ifExists(path.join(results, "claims.json")),
    summary: ifExists(path.join(results, "summary.json")),
    demoSft,
    model: sft ?? demoSft,
    results: ifExists(path.join(results, "summary.json")) ? results : null,
  };
}
