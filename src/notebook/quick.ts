/**
 * What the notebooks share, so their cells stay one step each:
 *
 * - `findReproduceOutputs`: where `bcr reproduce` put its outputs, if it did. Layout
 *   (src/reproduce/layout.ts, report.ts): `runs/reproduce/sft/` (SFT run), `rl/<method>/seed-<k>/`
 *   (RL runs), `eval/<method>/[seed-<k>/]sweep/` (N-sweeps), and its out folder
 *   `docs/history/ladder/` (configs/reproduce.json): `claims.json`, `summary.json`,
 *   `eval-rows.jsonl.gz` (every eval row and RL training log of the committed run, which
 *   loadEvalRows and loadRuns read when runs/ is absent), the data's levels
 *   (`data/manifest.json`); plus a committed demo SFT checkpoint `results/models/sft/`. Read only.
 * - `trainQuickRuns`: the tiny stand-ins the notebooks make when those outputs are absent (or in
 *   QUICK mode): SFT on packed synthetic problems, then GRPO runs `single`, `bcr` (N = 3) and
 *   `linear@1` (penalty, linear shaping, lambda 1) from that checkpoint. They live in
 *   `<outDir>/<quick|small>-<hash>/`, the hash taken over the resolved configs (quickRunsHash), so
 *   runs are reused exactly when they were made with the same settings, whichever notebook made
 *   them, and a change of settings trains into a new folder instead of reusing stale models.
 *   "Finished" means a done marker (SFT: `sft/done.json`, RL: `summary.json`, both written last). A
 *   folder without one (a run cut off by a timeout) is never reused silently: trainQuickRuns
 *   stops and says so. The small (full) settings take tens of minutes, so they train only when
 *   asked (`train: true`, a notebook's `TRAIN_SMALL = true`).
 */
import { createHash } from "node:crypto";
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
  /** Full settings only: train what is missing (tens of minutes; a notebook's TRAIN_SMALL). Without it, trainQuickRuns throws instead. */
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
  /** The folder of this set of runs, `<outDir>/<quick|small>-<hash>`. */
  dir: string;
  /** quickRunsHash of the settings the runs were made with. */
  hash: string;
  /** The SFT run folder (a model for loadLocalModel). */
  sft: string;
  /** The folder of the RL runs (for readRuns, loadRuns), `<method>-s<seed>/` inside. */
  rl: string;
  /** The RL run folders, in the order trained. */
  runs: string[];
  /** Difficulty levels the runs trained on (use the same for held-out problems). */
  levels: number[];
}

/** The SFT examples: 2000 training problems, packed 1-3 per example. */
const SFT_DATA = { problemSeed: 1, problems: 2000, groupSizes: [1, 2, 3], seed: 2 };

/** JSON with object keys sorted, so equal settings hash equally whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)))
      : v,
  );
}

/** The resolved SFT config and the RL configs of a set of tiny runs (RL `init` left as "sft"). */
function resolvedConfigs(quick: boolean) {
  const s = quickSettings(quick);
  return {
    levels: s.levels,
    sftData: { ...SFT_DATA, examples: s.sftExamples },
    sft: parseConfig(s.sft, SftConfigSchema, "notebook"),
    rl: s.kinds.map((k) => parseConfig({ ...s.rl, ...k, name: k.kind, init: "sft" }, RlConfigSchema, "notebook")),
  };
}

/**
 * 12 hex digits of sha256 over the resolved configs (defaults filled in by the schemas) and the
 * SFT data's settings: what makes a set of tiny runs what it is. Runs are reused only under it.
 */
export function quickRunsHash(quick: boolean): string {
  return createHash("sha256")
    .update(canonical(resolvedConfigs(quick)))
    .digest("hex")
    .slice(0, 12);
}

/**
 * SFT, then the RL runs, under `<outDir>/<quick|small>-<hash>/` (`sft/`, `rl/<method>-s<seed>/`,
 * `settings.json` naming what was hashed); finished runs made with the same settings are reused.
 */
export async function trainQuickRuns(outDir: string, opts: QuickRunOptions = {}): Promise<QuickRuns> {
  const quick = opts.quick ?? true;
  const log = opts.log === undefined ? (l: string) => console.log(l) : (opts.log ?? (() => {}));
  const s = quickSettings(quick);
  const configs = resolvedConfigs(quick);
  const hash = quickRunsHash(quick);
  const dir = path.join(outDir, `${quick ? "quick" : "small"}-${hash}`);
  const sft = path.join(dir, "sft");
  const mayTrain = (what: string) => {
    if (!quick && !opts.train) {
      throw new Error(
        `${what} is not there and the small runs take tens of minutes: nothing was trained. ` +
          "Run `npx bcr reproduce` (the reproduction) first, or set TRAIN_SMALL = true in the notebook " +
          "(trainQuickRuns(dir, { quick: false, train: true })) to train the small runs here.",
      );
    }
  };
  if (fs.existsSync(path.join(sft, SFT_DONE))) log(`sft: reusing the finished run in ${sft} (settings ${hash})`);
  else {
    if (latestCheckpoint(checkpointsDir(sft)) !== null) throw unfinished(sft, "sft");
    mayTrain(`A finished SFT run in ${sft}`);
    writeJsonAtomic(path.join(dir, "settings.json"), { hash, ...configs });
    const examples = buildSftExamples(generateProblems(SFT_DATA.problemSeed, SFT_DATA.problems, s.levels, "train"), {
      count: s.sftExamples,
      groupSizes: SFT_DATA.groupSizes,
      seed: SFT_DATA.seed,
    });
    const config = configs.sft;
    const watcher = opts.watch?.({ method: "sft", total: config.train.steps, stage: "sft" }) ?? null;
    const run = await trainSft(config, examples, sft, {
      resume: false,
      progress: false,
      ...(watcher ? { onMetrics: watcher.onMetrics } : {}),
    });
    await watcher?.finish?.();
    run.model.dispose();
    writeJsonAtomic(path.join(sft, SFT_DONE), {
      hash,
      steps: run.step,
      finalLoss: run.losses.at(-1)?.loss ?? null,
    });
    log(`sft: ${run.step} steps, final loss ${run.losses.at(-1)?.loss.toFixed(3)} -> ${sft}`);
  }
  const rl = path.join(dir, "rl");
  const runs: string[] = [];
  for (const resolved of opts.rl === false ? [] : configs.rl) {
    const config = { ...resolved, init: sft };
    const runDir = path.join(rl, `${config.method}-s${config.seed}`);
    runs.push(runDir);
    if (fs.existsSync(runFile(runDir, "summary"))) {
      log(`${config.method}: reusing the finished run in ${runDir}`);
      continue;
    }
    if (fs.existsSync(runDir)) throw unfinished(runDir, "rl");
    mayTrain(`A finished ${config.method} run in ${runDir}`);
    const watcher = opts.watch?.({ method: config.method, total: config.steps, stage: "rl" }) ?? null;
    const res = await trainRl(config, runDir, {
      progress: false,
      ...(watcher ? { onMetrics: watcher.onMetrics } : {}),
    });
    await watcher?.finish?.();
    log(
      `${config.method}: ${res.step} steps, final eval accuracy ${res.finalEval?.accuracy.toFixed(3)}, tokens/problem ${res.finalEval?.tokensPerProblem.toFixed(1)}`,
    );
  }
  return { dir, hash, sft, rl, runs, levels: s.levels };
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
  /**
   * `docs/history/ladder/` when it holds a reproduction's summary.json (committed or from `bcr reproduce`):
   * readResults reads it.
   */
  results: string | null;
  /**
   * `docs/history/ladder/eval-rows.jsonl.gz`: every eval row and the RL runs' training logs of that run
   * (loadEvalRows and loadRuns read it), so the notebooks need no runs/ folder.
   */
  rows: string | null;
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
  // The ladder run (configs/reproduce.json's out); its demo SFT model stays in results/ (demoModel).
  const results = path.join(root, "docs", "history", "ladder");
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
  const demoSft = ifExists(path.join(root, "results", "models", "sft"));
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
    rows: ifExists(path.join(results, "eval-rows.jsonl.gz")),
  };
}
