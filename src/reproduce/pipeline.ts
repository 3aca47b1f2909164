/**
 * `bcr reproduce`: the whole experiment as six idempotent stages,
 *   data -> sft -> rl -> eval -> analysis -> report
 * each skipped when done with the same config, resumed when interrupted, redone with --force
 * (stages.ts). A stage's hash covers its own settings and the hashes before it, so changing the
 * SFT settings redoes sft and everything after it, while changing a claim threshold redoes only
 * analysis and report.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backendInfo, initBackend } from "../engine/backend.js";
import { arithmeticFingerprint } from "../model/arithmetic-fingerprint.js";
import { readRuns } from "../analysis/stability.js";
import { writeJsonAtomic } from "../util/fsx.js";
import { analyze, type Analysis } from "./analysis.js";
import type { ReproduceConfig } from "./config.js";
import { derive } from "./budget.js";
import { readDataStats, runData } from "./data.js";
import { readEvals, runEval } from "./eval.js";
import { layout, type Layout, type Log } from "./layout.js";
import { runRl } from "./rl.js";
import type { OnStep } from "./rl-pool.js";
import { runSft } from "./sft.js";
import { writeOutputs } from "./report.js";
import { EVAL_ARCHIVE, readEvalArchive, writeEvalArchive } from "./archive.js";
import { latestCheckpoint } from "../run/checkpoint.js";
import { RunStopped } from "../run/interrupt.js";
import { checkpointsDir, latestPointer } from "../run/files.js";
import { isSmokeTest, SMOKE_BANNER } from "../run/smoke.js";
import { readMarker, runStage, stageHash, type StageMarker, type StageSpec } from "./stages.js";

export const STAGES = ["data", "sft", "rl", "eval", "analysis", "report"] as const;
export type StageName = (typeof STAGES)[number];

export interface ReproduceOptions {
  /** Override config.out / config.runs. */
  out?: string;
  runs?: string;
  force?: boolean;
  only?: string[];
  /** Backend to ask initBackend for (default BCR_BACKEND or auto). */
  backend?: string;
  /** Progress bars of training and sweeps (default true). */
  progress?: boolean;
  log?: Log;
  /**
   * Every metrics record of every RL run as it is logged (in this process or a worker's),
   * with the run's name `<method>/seed-<k>`: the hook for a live line per run.
   */
  onStep?: OnStep;
  /**
   * Stop at the next step boundary of the running SFT or in-process RL run (it saves a
   * checkpoint), before the eval stage's next model or batch of groups (sweepN's caches keep the
   * finished ones), or before the next stage; the stage stays unfinished and resumes on the next
   * call: reproduce rejects with RunStopped. RL worker processes stop on SIGINT/SIGTERM
   * themselves (rl-pool.ts).
   */
  signal?: AbortSignal;
}

export interface ReproduceResult {
  out: string;
  runs: string;
  stages: Record<string, StageMarker & { action: string }>;
  /** null when --only stopped before the analysis. */
  analysis: Analysis | null;
  wall_s: number;
}

/**
 * The hash of every stage, chained (see the header). `kernels` is the wasm backend's kernel
 * set: the native one rounds differently from XNNPACK, so an SFT model (and all after it)
 * trained on one is not reused under the other. The wasm set adds nothing, so runs made before
 * the native set existed keep their hashes; docs/history/ladder/summary.json records the hashes of its run.
 *
 * `arithmetic` is the process's arithmetic fingerprint (src/model/arithmetic-fingerprint.ts):
 * the kernel set's name does not fix its bits (OpenBLAS picks kernels by CPU type, and its
 * thread count changes sums), so a runs folder re-used on another machine or environment redoes
 * SFT and everything after it rather than building on a model computed with other bits. Absent
 * (the hashes of runs recorded before the fingerprint, as in the committed summaries) it adds nothing.
 */
export function stageHashes(config: ReproduceConfig, kernels = "wasm", arithmetic?: string): Record<StageName, string> {
  const s = config.sft;
  // The second SFT phase enters the hashes only when present, so one-phase configs keep theirs.
  const extendData = s.extend
    ? { extend: { examples: s.extend.examples, groupSizes: s.extend.groupSizes, seed: s.extend.seed } }
    : {};
  const data = stageHash({
    data: config.data,
    sft: {
      examples: s.examples,
      groupSizes: s.groupSizes,
      seed: s.seed,
      mix: s.mix,
      loops: s.loops,
      merge: s.merge,
      ...extendData,
    },
  });
  const sft = stageHash({
    data,
    run: s.run,
    ...(s.extend ? { extend: s.extend.run } : {}),
    ...(kernels !== "wasm" ? { kernels } : {}),
    ...(arithmetic !== undefined ? { arithmetic } : {}),
  });
  // rl.workers only sets how many runs train at once, not what they compute: not hashed.
  const { workers: _workers, ...rlSettings } = config.rl;
  const rl = stageHash({ sft, rl: rlSettings, seeds: config.seeds, levels: config.data.levels });
  const ev = stageHash({ rl, eval: config.eval, seed: config.analysis.seed, bootstrap: config.analysis.bootstrap });
  const analysis = stageHash({ ev, analysis: config.analysis, claims: config.claims });
  const report = stageHash({ analysis, figures: config.figures });
  return { data, sft, rl, eval: ev, analysis, report };
}

/**
 * The SFT model's final weights (no optimizer state, ~0.5 MB for the default model) as the demo
 * checkpoint that notebooks and `bcr sweep --model local:results/models/sft` use: the default run
 * (configs/reproduce.json) puts it there through `demoModel`; other runs, and any run given
 * --out, beside their results (`<out>/models/sft`).
 */
export function demoModelDir(config: ReproduceConfig, opts: Pick<ReproduceOptions, "out">, out: string): string {
  return !opts.out && config.demoModel ? config.demoModel : path.join(out, "models", "sft");
}

function copyDemoModel(sftRun: string, dest: string): void {
  const src = latestCheckpoint(checkpointsDir(sftRun));
  if (!src) return;
  fs.mkdirSync(dest, { recursive: true });
  for (const f of ["model.json", "weights.bin", "state.json"]) fs.copyFileSync(path.join(src, f), path.join(dest, f));
}

function cpuModel(): string {
  return os.cpus()[0]?.model?.trim() ?? "unknown";
}

function gitCommit(): string | null {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

export async function reproduce(config: ReproduceConfig, opts: ReproduceOptions = {}): Promise<ReproduceResult> {
  const log: Log = opts.log ?? ((l) => console.error(l));
  const progress = opts.progress ?? true;
  const L: Layout = layout(opts.runs ?? config.runs, opts.out ?? config.out);
  if (opts.only) {
    const bad = opts.only.filter((s) => !(STAGES as readonly string[]).includes(s));
    if (bad.length) throw new Error(`--only: unknown stage ${bad.join(", ")}; stages: ${STAGES.join(", ")}`);
  }
  const t0 = performance.now();
  const info = await initBackend(opts.backend);
  log(
    `[reproduce] ${config.name}: backend ${info.name}${info.kernels ? ` (${info.kernels.engine} kernels)` : ""}, ${os.cpus().length} cores (${cpuModel()}); runs in ${L.runs}, results in ${L.out}`,
  );
  fs.mkdirSync(L.runs, { recursive: true });
  const arithmetic = arithmeticFingerprint();
  log(`[reproduce] arithmetic fingerprint ${arithmetic} (it enters the SFT stage's hash)`);
  const h = stageHashes(config, info.kernels?.engine, arithmetic);
  const ro = { runsDir: L.runs, force: opts.force, only: opts.only, log };
  const stages: ReproduceResult["stages"] = {};
  // With --only, nothing after the last selected stage runs (`--only data` just writes the data).
  const last = opts.only ? Math.max(...opts.only.map((s) => STAGES.indexOf(s as StageName))) : STAGES.length - 1;
  const wanted = (name: StageName) => STAGES.indexOf(name) <= last;
  const run = async (spec: StageSpec) => {
    if (opts.signal?.aborted)
      throw new RunStopped(`reproduce before stage ${spec.name}`, null, "the stages before it are done");
    return (stages[spec.name] = await runStage(spec, ro));
  };
  const smoke = isSmokeTest(config);
  if (smoke) log(`[reproduce] ${SMOKE_BANNER}`);
  const finish = (analysis: Analysis | null): ReproduceResult => {
    const wall_s = (performance.now() - t0) / 1000;
    log(
      `[reproduce] done in ${wall_s.toFixed(1)} s${analysis && wanted("report") ? `: ${path.join(L.out, "report.html")}` : ""}`,
    );
    if (smoke && analysis) log(`[reproduce] ${SMOKE_BANNER}: the verdicts below only show the pipeline ran`);
    for (const c of analysis?.claims ?? [])
      log(`[reproduce]   claim ${c.number} (${c.title}): ${c.verdict} — ${c.measurement}`);
    return { out: L.out, runs: L.runs, stages, analysis, wall_s };
  };

  // Re-judging from <out>/eval-rows.jsonl.gz (archive.ts): only analysis and/or report asked
  // for, and no eval stage in the runs folder (a clean clone). The stages before analysis are
  // neither run nor checked: their work is what the archive holds.
  const archiveFile = path.join(L.out, EVAL_ARCHIVE);
  const archive =
    opts.only?.every((s) => s === "analysis" || s === "report") &&
    !readMarker(L.runs, "eval") &&
    fs.existsSync(archiveFile)
      ? readEvalArchive(archiveFile)
      : null;
  if (archive)
    log(
      `[reproduce] no eval stage in ${L.runs}: re-judging from ${archiveFile} (${archive.evals.length} models, ${archive.runs.length} RL runs)`,
    );
  const readRlRuns = () => (archive ? archive.runs : fs.existsSync(L.rl) ? readRuns(L.rl) : []);

  if (!archive) {
    await run({
      name: "data",
      hash: h.data,
      clean: [L.data],
      outputs: [
        "train.jsonl",
        "test.jsonl",
        "manifest.json",
        "sft.jsonl",
        ...(config.sft.extend ? ["sft-extend.jsonl"] : []),
        "stats.json",
      ].map((f) => path.join(L.data, f)),
      run: async () => ({ ...runData(config, L) }),
    });
    if (!wanted("sft")) return finish(null);
    await run({
      name: "sft",
      hash: h.sft,
      clean: [L.sftBase, L.sft],
      outputs: [latestPointer(L.sft)],
      run: () => runSft(config, L, log, progress, opts.signal),
    });
    if (!wanted("rl")) return finish(null);
    await run({
      name: "rl",
      hash: h.rl,
      clean: [L.rl],
      outputs: [L.rl],
      run: () => runRl(config, L, log, progress, opts.onStep, opts.signal),
    });
    if (!wanted("eval")) return finish(null);
    await run({
      name: "eval",
      hash: h.eval,
      clean: [L.eval],
      outputs: [L.eval],
      run: async () => {
        try {
          return await runEval(config, L, log, progress, opts.signal);
        } catch (e) {
          // Stopped between models or batches: what is done stays in sweepN's caches.
          if (opts.signal?.aborted)
            throw new RunStopped(`eval (${L.eval})`, null, "the groups finished so far are cached");
          throw e;
        }
      },
    });
  }
  let analysis: Analysis | null = null;
  if (!wanted("analysis")) return finish(null);
  await run({
    name: "analysis",
    hash: h.analysis,
    clean: [L.analysis],
    outputs: [L.analysis],
    run: async () => {
      analysis = analyze(archive ? archive.evals : readEvals(config, L), readRlRuns(), config);
      writeJsonAtomic(L.analysis, analysis);
      return { claims: Object.fromEntries(analysis.claims.map((c) => [c.id, c.verdict])) };
    },
  });
  analysis ??= JSON.parse(fs.readFileSync(L.analysis, "utf8")) as Analysis;
  const final = analysis;
  if (!wanted("report")) return finish(final);
  const reportStart = performance.now();
  await run({
    name: "report",
    hash: h.report,
    clean: [],
    outputs: ["claims.json", "summary.json", "report.html", EVAL_ARCHIVE].map((f) => path.join(L.out, f)),
    run: async () => {
      const wall: Record<string, number> = {};
      for (const s of STAGES) {
        wall[s] =
          s === "report"
            ? (performance.now() - reportStart) / 1000
            : (stages[s]?.wall_s ?? readMarker(L.runs, s)?.wall_s ?? archive?.meta.wall[s] ?? 0);
      }
      const total = Object.values(wall).reduce((a, b) => a + b, 0);
      const derived = archive ? archive.meta.derived : { ...derive(config, readDataStats(L)), data: readDataStats(L) };
      const rlRuns = readRlRuns();
      if (!archive) {
        const { report: _report, ...before } = wall;
        writeEvalArchive(archiveFile, { meta: { derived, wall: before }, evals: readEvals(config, L), runs: rlRuns });
      }
      copyDemoModel(L.sft, demoModelDir(config, opts, L.out));
      await writeOutputs({
        outDir: L.out,
        analysis: final,
        runs: rlRuns,
        meta: {
          backend: backendInfo()?.name ?? info.name,
          cores: os.cpus().length,
          cpu: cpuModel(),
          wall: { ...wall, total },
          seeds: config.seeds,
        },
        png: config.figures.png,
        config,
        derived,
        log,
        smokeTest: smoke,
        notes: [
          ...(smoke
            ? [
                `${SMOKE_BANNER}: ${config.name} trains tiny models for a few steps; its numbers and verdicts exercise the code and mean nothing about the method.`,
              ]
            : []),
          ...notes(config, stages),
        ],
        summaryExtra: {
          name: config.name,
          backend_info: backendInfo(),
          arithmetic,
          node: process.version,
          platform: `${os.platform()} ${os.arch()}`,
          git_commit: gitCommit(),
          runs_dir: L.runs,
          stage_hashes: h,
          stage_markers: Object.fromEntries(STAGES.map((s) => [s, stages[s] ?? readMarker(L.runs, s)])),
          invocation_wall_s: (performance.now() - t0) / 1000,
        },
      });
      return { out: L.out };
    },
  });
  return finish(final);
}

/** What quick mode's console output, notes and report open with. */
function notes(config: ReproduceConfig, stages: ReproduceResult["stages"]): string[] {
  const out = [
    "Claim numbering follows the paper's abstract as summarised in docs/reference (1 task scaling, 2 free lunch, 3 loops, 4 stability).",
    "RL training problems are drawn from src/tasks' generator with their own seed (trainRl); the eval uses the held-out test split of the data stage.",
    "L1 (l1-exact/l1-max) models are evaluated with the target length in the prompt, as trained: `L<target*N> ` before the packed problems.",
    "Tokens are characters (char-level model); tokens per problem at N>1 follow scoreResponse's attribution of response tokens to problems.",
  ];
  if (!config.rl.methods.some((m) => m.shaping === "l1-exact" || m.shaping === "l1-max")) {
    out.push(
      "L1 is not in this run: its SFT model never saw the `L<target> ` prompt prefix, so its starting point would be measured out of distribution (rigor.md, fair baselines).",
    );
  }
  const ev = stages.eval?.info as { warnings?: string[] } | undefined;
  for (const w of ev?.warnings ?? []) out.push(`eval: ${w}`);
  if (config.seeds.length < 2) out.push("One RL seed: the CIs cover test problems only, not seed-to-seed variation.");
  return out;
}
