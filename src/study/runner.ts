/**
 * `bcr study`: the regime study (issue 29). For each experiment and each SFT seed k it runs the
 * reproduce pipeline's own stages (src/reproduce/pipeline.ts, resumable and hashed) in
 * <runs>/<id>/sft-<k>/:
 *
 *   1. data, sft              reproduce(..., only: data, sft)
 *   2. gate                   measured on that SFT model with independent samples (gate.ts),
 *                             <runs>/<id>/sft-<k>/gate.json, keyed by the SFT stage's hash and the gate;
 *   -- an experiment whose gate fails on a majority of SFT seeds stops here: "gate failed", no RL --
 *   3. rl, eval               reproduce(..., only: rl, eval): every RL seed on every SFT model
 *   4. continuation           (experiment A) longer runs of some arms on one SFT seed, N=1 eval
 *   5. rows and judge         every eval row into <out>/study/<id>/rows.jsonl.gz, judged by the
 *                             pre-registered rules (judge.ts) and across the replicates under
 *                             other kernel sets that the study config lists (arithmetic.ts), a
 *                             report section <out>/study/<id>/report.md, and <out>/study.json
 *
 * Resuming: every step checks its own output (stage markers, gate.json, the continuation's
 * done.json, each keyed by a hash of what it was made from; checkpoints and sweep caches inside
 * the stages), so killing and re-running goes on where it stopped; an experiment finished with
 * the same config (<runs>/<id>/done.json holds the hash of its resolved config) is not touched
 * again. `rejudge` re-judges from the committed rows alone (no runs folder, no training).
 *
 * Phases (`--phase`, docs/cluster.md): the same work items, one kind per call, as the jobs of a
 * cluster sharing the runs folder: sft (steps 1-2 of some SFT seeds), rl (step 3; needs every
 * seed's gate), cont (step 4), judge (step 5; needs every item). Each item holds a lock file in its
 * folder while it runs (lock.ts). Without a phase, runExperiment calls the same items in order.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { backendInfo, initBackend } from "../engine/backend.js";
import { type PeakFigure, machinePeak } from "../engine/peak.js";
import { LocalModel } from "../model/local-model.js";
import { derive } from "../reproduce/budget.js";
import { readDataStats } from "../reproduce/data.js";
import { evaluateModels, modelsToEvaluate, readEvals } from "../reproduce/eval.js";
import { layout, type Log } from "../reproduce/layout.js";
import { reproduce, stageHashes } from "../reproduce/pipeline.js";
import { planRuns, runRl } from "../reproduce/rl.js";
import { markerFile, readMarker, stageHash } from "../reproduce/stages.js";
import { RunFolder } from "../run/folder.js";
import { RunStopped } from "../run/interrupt.js";
import { loadSyntheticDataset } from "../tasks/dataset.js";
import { loadLocal } from "../train/load-local.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { type Experiment, experimentHash, type Study, sftSeedConfig, sftSeedDir } from "./config.js";
import { continuationSeed, continuationSetup, continuationState, markContinuationDone } from "./continuation.js";
import {
  formatDuration,
  formatPlan,
  planStudy,
  studyUnitCosts,
  type UnitCosts,
  unitCosts,
  type WorkItem,
} from "./eta.js";
import { measureGate } from "./gate.js";
import { withLock } from "./lock.js";
import { sftSideBySide, timeShare } from "./side-by-side.js";
import { acrossKernelSets, type ArithmeticSide, kernelSetOf, MACHINE_FILE } from "./arithmetic.js";
import { arithmeticFingerprint } from "../model/arithmetic-fingerprint.js";
import { gateFigure, type Judgement, judgeExperiment } from "./judge.js";
import { type RulesProvenance, rulesFromGitNote, rulesNow, rulesOfRows } from "./provenance.js";
import { type StudyReportEntry, writeStudyReport } from "./report.js";
import {
  type RowsArchive,
  type RowsMeta,
  readRows,
  type RunEnd,
  rowsOfEval,
  ROWS_FILE,
  type SeedGate,
  writeRows,
} from "./rows.js";
import { gate as gateOf } from "./verdict.js";

export const STUDY_FILE = "study.json";
export const WALL_STAGES = ["data", "sft", "gate", "rl", "eval", "continuation", "judge"] as const;
/** The phases of `bcr study --phase`, in dependency order (docs/cluster.md). */
export const PHASES = ["sft", "rl", "cont", "judge"] as const;
export type Phase = (typeof PHASES)[number];

export interface StudyOptions {
  /** Run only this experiment (its entry in study.json is replaced, the others kept). */
  experiment?: string;
  /**
   * Re-judge every verdict from <out>/study/<id>/rows.jsonl.gz: no training, no evaluation. An
   * experiment without rows (not run yet) is logged and left out; none with rows is an error, and
   * so is `experiment` without its rows.
   */
  rejudge?: boolean;
  runs?: string;
  out?: string;
  backend?: string;
  progress?: boolean;
  log?: Log;
  signal?: AbortSignal;
  /** The committed run whose stage times give the ETA's unit costs (default docs/history/ladder/summary.json). */
  costsFrom?: string;
  /** Print the planned work and the ETA, run nothing. */
  planOnly?: boolean;
  /** Write report.html, findings.md and the figures at the end (default true). */
  report?: boolean;
  /**
   * Run one phase of one experiment (a cluster job, docs/cluster.md) instead of everything:
   * sft (data, SFT, gate), rl (RL and eval), cont (the continuation) or judge (rows and verdicts).
   */
  phase?: Phase;
  /** The SFT seeds of phase sft or rl (default every SFT seed of the experiment). */
  sftSeeds?: number[];
  /** How messages name a `bcr study` command to run (the CLI passes its own --config, --runs, --out). */
  command?: string;
  /**
   * false: the SFT items one at a time, in this process; default: two side by side, each a `bcr
   * study --phase sft` process on the study's config file (side-by-side.ts), on 2 or more cores.
   */
  sideBySide?: boolean;
}

export interface ExperimentResult {
  id: string;
  sft_seeds: number[];
  rl_seeds: number[];
  eval_samples: number;
  gate: { passed: boolean; figure: string; threshold: number | number[] };
  rules_commit: string | null;
  /** The verdicts; across kernel sets where a replicate under another one was judged (then `arithmetic` holds each side's). */
  claims: { id: string; verdict: string; figure: string }[];
  arithmetic?: ArithmeticSide[];
  frontier: { diff: number | null; ci: [number, number] | null };
  /** The machine's sgemm peak before and after the experiment ran (its rows' meta.sgemm_peak), where recorded. */
  sgemm_peak?: { threads: number; start: number; end: number };
}

export interface StudyOutput {
  wall_s: Record<string, number>;
  experiments: ExperimentResult[];
}

export interface StudyResult {
  output: StudyOutput;
  judgements: Record<string, Judgement>;
  plan: WorkItem[];
  /** A phase other than judge: its SFT seeds, and whether its items ran (false: the gate failed, nothing to do). */
  phase?: { phase: Phase; seeds: number[]; ran: boolean };
}

export async function runStudy(study: Study, opts: StudyOptions = {}): Promise<StudyResult> {
  const log: Log = opts.log ?? ((l) => console.error(l));
  const runsRoot = opts.runs ?? study.spec.runs;
  const out = opts.out ?? study.spec.out;
  const exps = opts.experiment ? study.experiments.filter((e) => e.spec.id === opts.experiment) : study.experiments;
  if (exps.length === 0)
    throw new Error(
      `--experiment ${opts.experiment}: no such experiment in ${study.file} (has ${study.experiments.map((e) => e.spec.id).join(", ")})`,
    );
  checkPhaseFlags(exps, opts);
  if (study.spec.smoke)
    log("[study] SMOKE TEST, NOT A RESULT: tiny models, a few steps; the verdicts only show the code ran");
  const judgements: Record<string, Judgement> = {};
  const rules: Record<string, RulesProvenance> = {};
  const results: ExperimentResult[] = [];
  const walls: Record<string, Record<string, number>> = {};
  // An experiment's verdicts: its own rows by its rules, then across the replicates of them
  // under other kernel sets that the study config lists (arithmetic.ts).
  const acrossReplicates = (exp: Experiment, archive: RowsArchive, file: string, own: Judgement): Judgement =>
    acrossKernelSets(exp, { file, archive, judgement: own }, study.spec.arithmeticReplicates, out, log);

  if (opts.rejudge) {
    const rowsFiles = exps.map((exp) => path.join(out, "study", exp.spec.id, ROWS_FILE));
    if (opts.experiment && !fs.existsSync(rowsFiles[0]!))
      throw new Error(`--rejudge: ${rowsFiles[0]} does not exist (run the experiment first)`);
    if (!rowsFiles.some((f) => fs.existsSync(f)))
      throw new Error(
        `--rejudge: no experiment of ${study.file} has committed rows (looked for ${rowsFiles.join(", ")}); run the study first`,
      );
    for (const [i, exp] of exps.entries()) {
      const file = rowsFiles[i]!;
      // Not run yet: left out of study.json, the findings and the report, as a run that has not
      // reached it leaves it.
      if (!fs.existsSync(file)) {
        log(`[study] ${exp.spec.id}: no committed rows at ${file} (not run yet): not judged`);
        continue;
      }
      const archive = readRows(file);
      log(`[study] ${exp.spec.id}: re-judging from ${file} (${archive.rows.length} rows)`);
      const t0 = performance.now();
      const j = acrossReplicates(exp, archive, file, judgeExperiment(archive, exp.spec));
      const r = rulesOf(exp, archive.meta, file, log);
      judgements[exp.spec.id] = j;
      rules[exp.spec.id] = r;
      walls[exp.spec.id] = { ...archive.meta.wall };
      results.push(experimentResult(exp, archive.meta, j, r));
      writeReport(exp, archive.meta, j, r, out);
      log(`[study] ${exp.spec.id}: judged in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const output = writeStudy(out, results, walls);
    logVerdicts(log, output);
    await reportStudy(study, out, judgements, rules, output, opts, log, acrossReplicates);
    return { output, judgements, plan: [] };
  }

  const costsFile = opts.costsFrom ?? path.join("docs", "history", "ladder", "summary.json");
  let costs: UnitCosts;
  try {
    costs = unitCosts(costsFile);
  } catch (e) {
    costs = {
      sft: Number.NaN,
      rl: Number.NaN,
      eval: Number.NaN,
      gate: Number.NaN,
      basis: `no unit costs (${(e as Error).message})`,
    };
  }
  // Once an experiment of this study has finished here, its own stage times are the better basis.
  if (!opts.costsFrom) {
    // The study's own rows and its replicates' under other kernel sets: the same work, timed again.
    const finished = study.experiments.flatMap((exp) =>
      [out, ...study.spec.arithmeticReplicates].flatMap((root) => {
        const file = path.join(root, "study", exp.spec.id, ROWS_FILE);
        return fs.existsSync(file) ? [{ exp, wall: readRows(file).meta.wall, file }] : [];
      }),
    );
    costs = studyUnitCosts(finished, Number.isFinite(costs.sft) ? costs : null) ?? costs;
  }
  const plan = planStudy(exps, runsRoot, costs);
  log(`[study] ${study.spec.name}: ${exps.map((e) => e.spec.id).join(", ")}; runs in ${runsRoot}, results in ${out}`);
  log(`[study] planned work (${plan.length} items):`);
  for (const l of formatPlan(plan, costs)) log(`[study] ${l}`);
  if (opts.planOnly) return { output: { wall_s: {}, experiments: [] }, judgements, plan };
  // SFT items side by side need a second core and the config's file for their processes.
  const sideBySide = opts.sideBySide ?? os.cpus().length >= 2;
  const phaseOpts = { ...opts, log, out, studyFile: study.file, sideBySide };
  if (opts.phase && opts.phase !== "judge") {
    const exp = exps[0]!;
    checkPhase(exp, opts.phase, runsRoot, phaseOpts);
    const ran = await runPhase(exp, opts.phase, runsRoot, phaseOpts, plan);
    const phase = { phase: opts.phase, seeds: phaseSeeds(exp, opts.phase, opts.sftSeeds), ran };
    return { output: { wall_s: {}, experiments: [] }, judgements, plan, phase };
  }
  const tracker = new Eta(plan, log);

  const info = await initBackend(opts.backend);
  if (opts.phase === "judge")
    checkPhase(exps[0]!, "judge", runsRoot, phaseOpts, {
      kernels: info.kernels?.engine,
      arithmetic: arithmeticFingerprint(),
    });
  for (const exp of exps) {
    const id = exp.spec.id;
    const expRuns = path.join(runsRoot, id);
    const doneFile = path.join(expRuns, "done.json");
    const hash = experimentHash(exp);
    const rowsFile = path.join(out, "study", id, ROWS_FILE);
    const finished =
      fs.existsSync(doneFile) &&
      (JSON.parse(fs.readFileSync(doneFile, "utf8")) as { hash?: string }).hash === hash &&
      fs.existsSync(rowsFile);
    let archive: RowsArchive;
    if (finished) {
      log(`[study] ${id}: done earlier with the same config (hash ${hash}); judging its rows again`);
      archive = readRows(rowsFile);
      for (const it of plan.filter((i) => i.experiment === id)) it.done = true;
    } else if (opts.phase === "judge") {
      log(`[study] ${id}: every work item is done; assembling the rows`);
      archive = assembleRows(
        exp,
        runsRoot,
        exp.spec.sftSeeds.map((k) => readGate(exp, sftSeedDir(runsRoot, exp.spec.id, k))!),
      );
    } else {
      // The machine's sgemm peak before and after, which the rows record beside their stage times:
      // a record, not an input (eta.ts says why the plan is not scaled by it). Only here, where
      // one process runs the whole experiment (not in a phase process: a cluster job, or one of
      // the two SFT items side by side, whose figures would measure each other).
      const before = measurePeak(log);
      archive = await runExperiment(exp, runsRoot, phaseOpts, tracker);
      const after = measurePeak(log);
      if (before && after && before.threads === after.threads)
        archive.meta.sgemm_peak = { threads: before.threads, start: before.gflops, end: after.gflops };
    }
    await withLock(expRuns, `the judging of ${id}`, async () => {
      const t0 = performance.now();
      const own = judgeExperiment(archive, exp.spec);
      if (!finished) {
        archive.meta.wall.judge = (performance.now() - t0) / 1000;
        writeRows(rowsFile, archive);
        writeJsonAtomic(doneFile, { hash, finished: new Date().toISOString() });
      }
      // After the rows are safe: a replicate that cannot be compared stops the call here, and
      // the next call judges these rows again without redoing anything.
      const j = acrossReplicates(exp, archive, rowsFile, own);
      const r = rulesOf(exp, archive.meta, rowsFile, log);
      judgements[id] = j;
      rules[id] = r;
      walls[id] = archive.meta.wall;
      results.push(experimentResult(exp, archive.meta, j, r));
      writeReport(exp, archive.meta, j, r, out);
      // The record of the machine that computed the rows: written with them, never by a later
      // call that only judges them again (it may run elsewhere, under other arithmetic).
      if (!finished)
        writeJsonAtomic(path.join(out, "study", id, MACHINE_FILE), {
          backend: backendInfo() ?? info,
          arithmetic: arithmeticFingerprint(),
          cpu: os.cpus()[0]?.model?.trim() ?? "unknown",
          cores: os.cpus().length,
          node: process.version,
          platform: `${os.platform()} ${os.arch()}`,
        });
    });
  }
  const output = writeStudy(out, results, walls);
  logVerdicts(log, output);
  await reportStudy(study, out, judgements, rules, output, opts, log, acrossReplicates);
  return { output, judgements, plan };
}

/**
 * The machine's sgemm peak now (machinePeak, on the backend runStudy initialised), logged; null
 * where it cannot be measured (the study goes on without it: it is a record, not an input to any
 * result).
 */
function measurePeak(log: Log): PeakFigure | null {
  try {
    const p = machinePeak();
    if (p) log(`[study] the machine's sgemm peak now: ${p.gflops.toFixed(1)} GFLOP/s on ${p.threads} threads`);
    return p;
  } catch (e) {
    log(`[study] the machine's sgemm peak was not measured: ${(e as Error).message}`);
    return null;
  }
}

/**
 * results/study/report.html, findings.md and the figures (report.ts), over every experiment of the
 * study whose rows are in <out>: this call's judgements, and the others' judged again from their
 * committed rows (the rules are deterministic, so the same rows give the same verdicts), across
 * kernel sets by `across` as this call's were.
 */
async function reportStudy(
  study: Study,
  out: string,
  judged: Record<string, Judgement>,
  rules: Record<string, RulesProvenance>,
  output: StudyOutput,
  opts: StudyOptions,
  log: Log,
  across: (exp: Experiment, archive: RowsArchive, file: string, own: Judgement) => Judgement,
): Promise<void> {
  if (opts.report === false) return;
  const entries: StudyReportEntry[] = [];
  for (const exp of study.experiments) {
    const file = path.join(out, "study", exp.spec.id, ROWS_FILE);
    if (!fs.existsSync(file)) continue;
    const archive = readRows(file);
    const judgement = judged[exp.spec.id] ?? across(exp, archive, file, judgeExperiment(archive, exp.spec));
    const r = rules[exp.spec.id] ?? rulesOf(exp, archive.meta, file, log);
    entries.push({ exp, archive, judgement, rulesCommit: r.commit, rulesDirty: r.dirty });
  }
  await writeStudyReport(out, entries, output, log, { smoke: study.spec.smoke === true });
}

/** The rules commit of an experiment's rows (provenance.ts), saying so when it had to come from git. */
function rulesOf(exp: Experiment, meta: RowsMeta, rowsFile: string, log: Log): RulesProvenance {
  const r = rulesOfRows(exp.file, meta, rowsFile);
  if (r.from === "git") log(rulesFromGitNote(exp.spec.id, rowsFile, r));
  return r;
}

function logVerdicts(log: Log, output: StudyOutput): void {
  for (const e of output.experiments) {
    log(`[study] ${e.id}: gate ${e.gate.passed ? "passed" : "failed"} (${e.gate.figure})`);
    for (const c of e.claims) log(`[study]   ${c.id}: ${c.verdict} — ${c.figure}`);
  }
  log(
    `[study] wall ${formatDuration(output.wall_s.total ?? 0)} (${WALL_STAGES.map((s) => `${s} ${(output.wall_s[s] ?? 0).toFixed(1)} s`).join(", ")})`,
  );
}

/** study.json: this call's experiments replace theirs; the others already there are kept, in config order. */
function writeStudy(
  out: string,
  results: ExperimentResult[],
  walls: Record<string, Record<string, number>>,
): StudyOutput {
  const file = path.join(out, STUDY_FILE);
  let prior: ExperimentResult[] = [];
  if (fs.existsSync(file)) {
    try {
      prior = (JSON.parse(fs.readFileSync(file, "utf8")) as StudyOutput).experiments ?? [];
    } catch {
      prior = [];
    }
  }
  const mine = new Set(results.map((r) => r.id));
  const experiments = [...prior.filter((p) => !mine.has(p.id)), ...results].sort((a, b) => (a.id < b.id ? -1 : 1));
  // Stage times of every experiment listed, from its rows file (this call's from memory).
  const wall: Record<string, number> = Object.fromEntries(WALL_STAGES.map((s) => [s, 0]));
  for (const e of experiments) {
    let w = walls[e.id];
    if (!w) {
      const f = path.join(out, "study", e.id, ROWS_FILE);
      w = fs.existsSync(f) ? readRows(f).meta.wall : {};
    }
    for (const s of WALL_STAGES) wall[s]! += w[s] ?? 0;
  }
  const output: StudyOutput = {
    wall_s: { total: Object.values(wall).reduce((a, b) => a + b, 0), ...wall },
    experiments,
  };
  writeJsonAtomic(file, output);
  return output;
}

function experimentResult(exp: Experiment, meta: RowsMeta, j: Judgement, rules: RulesProvenance): ExperimentResult {
  const thresholds = [...new Set(exp.gates.map((g) => g.threshold))];
  return {
    id: exp.spec.id,
    sft_seeds: exp.spec.sftSeeds,
    rl_seeds: exp.spec.rlSeeds,
    eval_samples: exp.base.eval.samples,
    gate: {
      passed: meta.gatePassed,
      figure: gateFigure(meta.gate),
      threshold: thresholds.length === 1 ? thresholds[0]! : exp.gates.map((g) => g.threshold),
    },
    rules_commit: rules.commit,
    claims: j.claims.map((c) => ({ id: c.id, verdict: c.verdict, figure: c.figure })),
    ...(j.arithmetic ? { arithmetic: j.arithmetic } : {}),
    frontier: j.frontier,
    ...(meta.sgemm_peak ? { sgemm_peak: meta.sgemm_peak } : {}),
  };
}

/** Live progress: the remaining estimate rescaled by how the finished items compared with theirs. */
class Eta {
  private readonly t0 = performance.now();
  private actual = 0;
  private estimated = 0;
  constructor(
    private readonly plan: WorkItem[],
    private readonly log: Log,
  ) {}
  start(item: WorkItem | undefined): number {
    if (item && !item.done) this.log(`[study] ${item.experiment} sft-${item.sft}: ${item.kind} (${item.what})`);
    return performance.now();
  }
  finish(item: WorkItem | undefined, started: number): void {
    if (!item || item.done) return;
    this.finishTogether([item], started);
  }
  /**
   * start() for items run at once: one line naming them all, since each SFT seed's gate follows
   * its own SFT in its own process (logging each as started would say the gates began with SFT).
   */
  startTogether(items: (WorkItem | undefined)[]): number {
    const open = items.filter((i): i is WorkItem => !!i && !i.done);
    if (open.length === 1) this.start(open[0]);
    else if (open.length > 1) {
      const seeds = [...new Set(open.map((i) => `${i.experiment} sft-${i.sft}`))];
      const kinds = [...new Set(open.map((i) => i.kind))];
      this.log(`[study] ${seeds.join(" and ")} side by side: ${kinds.join(" then ")}, each in a process of its own`);
    }
    return performance.now();
  }
  /** finish() for items run at once: their elapsed time counts once, against their estimates added. */
  finishTogether(items: (WorkItem | undefined)[], started: number): void {
    const open = items.filter((i): i is WorkItem => !!i && !i.done);
    if (!open.length) return;
    const s = (performance.now() - started) / 1000;
    const est = open.reduce((a, i) => a + (Number.isFinite(i.seconds) && i.seconds > 0 ? i.seconds : 0), 0);
    if (est > 0) {
      this.actual += s;
      this.estimated += est;
    }
    for (const i of open) i.done = true;
    const ratio = this.estimated > 0 ? this.actual / this.estimated : 1;
    const left = this.plan.filter((i) => !i.done).reduce((a, i) => a + i.seconds, 0) * ratio;
    const done = this.plan.filter((i) => i.done).length;
    const what =
      open.length === 1
        ? `${open[0]!.experiment} sft-${open[0]!.sft}: ${open[0]!.kind} done in ${formatDuration(s)} (estimate ${formatDuration(open[0]!.seconds)})`
        : `${open.map((i) => `${i.experiment} sft-${i.sft} ${i.kind}`).join(", ")}: done together in ${formatDuration(s)} (estimates ${formatDuration(est)} one after another)`;
    this.log(
      `[study] ${what}; ${done}/${this.plan.length} items, elapsed ${formatDuration((performance.now() - this.t0) / 1000)}, ETA ${formatDuration(left)}`,
    );
  }
  item(id: string, sft: number, kind: WorkItem["kind"]): WorkItem | undefined {
    return this.plan.find((i) => i.experiment === id && i.sft === sft && i.kind === kind);
  }
}

/**
 * The default path: every work item of one experiment in dependency order, in this process,
 * then its rows. The phases run the same items, one kind per call (runPhase).
 */
async function runExperiment(
  exp: Experiment,
  runsRoot: string,
  opts: StudyOptions & { log: Log; studyFile: string },
  eta: Eta,
): Promise<RowsArchive> {
  const id = exp.spec.id;
  const gates: SeedGateRun[] = [];
  // 1-2: SFT and its gate, per SFT seed: two seeds at a time side by side (side-by-side.ts), an
  // odd one last on its own.
  const seeds = exp.spec.sftSeeds;
  for (let i = 0; i < seeds.length; i += 2) {
    const pair = seeds.slice(i, i + 2);
    if (pair.length === 2 && opts.sideBySide !== false) gates.push(...(await sftPair(exp, pair, runsRoot, opts, eta)));
    else for (const k of pair) gates.push(await sftItem(exp, k, runsRoot, opts, eta));
  }
  if (!gateOutcome(gates).passed) {
    logGateFailed(exp, gates, opts.log, "no RL (gate failed)");
    for (const k of exp.spec.sftSeeds)
      for (const kind of ["rl", "eval", "continuation"] as const) {
        const it = eta.item(id, k, kind);
        if (it) it.done = true;
      }
  } else {
    // 3: RL and eval per SFT seed; 4: the continuation.
    for (const k of exp.spec.sftSeeds) await rlItem(exp, k, runsRoot, opts, eta);
    if (exp.spec.continuation) await contItem(exp, runsRoot, opts, eta);
  }
  // 5: rows.
  return assembleRows(exp, runsRoot, gates);
}

/** Throws RunStopped when the study was asked to stop (Ctrl-C) before `what`. */
function stopBefore(opts: StudyOptions, id: string, what: string): void {
  if (opts.signal?.aborted) throw new RunStopped(`study ${id} before ${what}`, null, "the steps before it are done");
}

function reproduceOptions(opts: StudyOptions & { log: Log }) {
  return {
    progress: opts.progress ?? true,
    log: opts.log,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
  };
}

type SeedGateRun = { gate: SeedGate; wall_s: number };

/** Work item "sft" of SFT seed k: the reproduce stages data and sft, then the gate on that model. */
async function sftItem(
  exp: Experiment,
  k: number,
  runsRoot: string,
  opts: StudyOptions & { log: Log },
  eta: Eta,
): Promise<SeedGateRun> {
  const id = exp.spec.id;
  const c = sftSeedConfig(exp, k, runsRoot);
  stopBefore(opts, id, `sft-${k}`);
  return withLock(c.runs, `sft-${k} of experiment ${id}`, async () => {
    const sftWork = eta.item(id, k, "sft");
    let t = eta.start(sftWork);
    await reproduce(c, { ...reproduceOptions(opts), only: ["data", "sft"] });
    eta.finish(sftWork, t);
    const gateWork = eta.item(id, k, "gate");
    t = eta.start(gateWork);
    const g = await seedGate(exp, k, c.runs, opts);
    eta.finish(gateWork, t);
    logGate(opts.log, id, k, g);
    return g;
  });
}

/** The work items "sft" (and gates) of two SFT seeds at once, each in a process of its own. */
async function sftPair(
  exp: Experiment,
  pair: number[],
  runsRoot: string,
  opts: StudyOptions & { log: Log; studyFile: string },
  eta: Eta,
): Promise<SeedGateRun[]> {
  const id = exp.spec.id;
  stopBefore(opts, id, pair.map((k) => `sft-${k}`).join(" and "));
  const items = pair.flatMap((k) => (["sft", "gate"] as const).map((kind) => eta.item(id, k, kind)));
  const t = eta.startTogether(items);
  const finished = await sftSideBySide(
    pair.map((k) => ({ k, dir: sftSeedDir(runsRoot, id, k) })),
    {
      studyFile: opts.studyFile,
      experiment: id,
      runs: runsRoot,
      out: opts.out!,
      ...(opts.backend ? { backend: opts.backend } : {}),
      log: opts.log,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  if (!finished)
    throw new RunStopped(
      `study ${id} during ${pair.map((k) => `sft-${k}`).join(" and ")}`,
      null,
      "each resumes from its checkpoint",
    );
  eta.finishTogether(items, t);
  return pair.map((k) => {
    const g = readGate(exp, sftSeedDir(runsRoot, id, k));
    if (!g)
      throw new Error(
        `study ${id} sft-${k}: the SFT item finished without its gate (${sftSeedDir(runsRoot, id, k)}/gate.json)`,
      );
    logGate(opts.log, id, k, g);
    return g;
  });
}

/** Work item "rl" of SFT seed k: every RL run on that SFT model, then their evals. */
async function rlItem(exp: Experiment, k: number, runsRoot: string, opts: StudyOptions & { log: Log }, eta: Eta) {
  const id = exp.spec.id;
  const c = sftSeedConfig(exp, k, runsRoot);
  stopBefore(opts, id, `rl of sft-${k}`);
  await withLock(c.runs, `rl of sft-${k} of experiment ${id}`, async () => {
    const rlWork = eta.item(id, k, "rl"),
      evWork = eta.item(id, k, "eval");
    let t = eta.start(rlWork);
    await reproduce(c, { ...reproduceOptions(opts), only: ["rl"] });
    eta.finish(rlWork, t);
    t = eta.start(evWork);
    await reproduce(c, { ...reproduceOptions(opts), only: ["eval"] });
    eta.finish(evWork, t);
  });
}

/** Work item "cont": the continuation on its SFT seed (experiments with one). */
async function contItem(exp: Experiment, runsRoot: string, opts: StudyOptions & { log: Log }, eta: Eta) {
  const k = continuationSeed(exp);
  const { dir } = continuationSetup(exp, k, runsRoot);
  await withLock(dir, `the continuation (sft-${k}) of experiment ${exp.spec.id}`, async () => {
    const work = eta.item(exp.spec.id, k, "continuation");
    const t = eta.start(work);
    await runContinuation(exp, k, runsRoot, opts);
    eta.finish(work, t);
  });
}

function logGate(log: Log, id: string, k: number, g: SeedGateRun): void {
  log(
    `[study] ${id} sft-${k}: gate ${g.gate.passed ? "passed" : "failed"}: ${g.gate.gates.map((x) => `${x.metric} ${x.measured.toFixed(3)} (needs ${x.direction} ${x.threshold})`).join("; ")}`,
  );
}

/** The majority rule: an experiment goes on to RL when its gate passed on more than half of its SFT seeds. */
function gateOutcome(gates: readonly SeedGateRun[]): { passed: boolean; seeds: number } {
  const seeds = gates.filter((g) => g.gate.passed).length;
  return { passed: 2 * seeds > gates.length, seeds };
}

function logGateFailed(exp: Experiment, gates: readonly SeedGateRun[], log: Log, what: string): void {
  const { seeds } = gateOutcome(gates);
  log(`[study] ${exp.spec.id}: gate failed on ${gates.length - seeds} of ${gates.length} SFT seeds: ${what}`);
}

/**
 * Step 5: every eval row of a finished experiment (its gates as measured, the main runs' and the
 * continuation's evals), with the stage times of every SFT seed. Reads the runs folder only.
 */
function assembleRows(exp: Experiment, runsRoot: string, gateRuns: readonly SeedGateRun[]): RowsArchive {
  const id = exp.spec.id;
  const gates = gateRuns.map((g) => g.gate);
  const gatePassed = gateOutcome(gateRuns).passed;
  const L0 = layout(sftSeedDir(runsRoot, id, exp.spec.sftSeeds[0]!), "unused");
  const test = loadSyntheticDataset(L0.data, "test");
  const levelOf = new Map(test.map((p) => [p.id, p.difficulty ?? null]));
  const meta: RowsMeta = {
    format: 1,
    id,
    // The rules these runs were made under, fixed now: a later re-judge must not relabel them.
    ...rulesNow(exp.file),
    // What a replicate under other kernels is matched with (arithmetic.ts): the kernel set and
    // arithmetic fingerprint these rows were computed with (this process's; phase judge checked
    // the runs' stage hashes carry the same engine and fingerprint) and the config they were run from.
    ...(backendInfo() ? { kernels: kernelSetOf(backendInfo()!), arithmetic: arithmeticFingerprint() } : {}),
    experiment_hash: experimentHash(exp),
    budgets: { n1: exp.base.eval.n1Budget, sweep: exp.base.eval.sweepBudget, bcr: {} },
    gate: gates,
    gatePassed,
    runs: [],
    test: { problems: Math.min(exp.base.eval.problems, test.length), available: test.length },
    continuation: null,
    wall: {},
  };
  const rows: RowsArchive["rows"] = [];
  if (gatePassed) {
    const cont = exp.spec.continuation;
    if (cont) meta.continuation = { steps: cont.steps, sft: continuationSeed(exp), methods: cont.methods };
    for (const k of exp.spec.sftSeeds) {
      const c = sftSeedConfig(exp, k, runsRoot);
      const L = layout(c.runs, c.out);
      const derived = derive(c, readDataStats(L));
      meta.budgets.bcr[String(k)] = derived.bcrBudget;
      for (const e of readEvals(c, L)) rows.push(...rowsOfEval(e, e.method, k, (p) => levelOf.get(p) ?? null));
      for (const p of planRuns(c, L, derived)) meta.runs.push(runEnd(p.dir, p.method, k, p.seed, "main"));
      if (meta.continuation && meta.continuation.sft === k) {
        const { config: cc, layout: Lc } = continuationSetup(exp, k, runsRoot);
        for (const ref of modelsToEvaluate(cc, Lc, derived).filter((r) => r.method !== "sft")) {
          const e = JSON.parse(fs.readFileSync(path.join(ref.dir, "eval.json"), "utf8"));
          rows.push(...rowsOfEval(e, ref.method, k, (p) => levelOf.get(p) ?? null, "cont"));
          meta.runs.push(runEnd(ref.checkpoint, ref.method, k, ref.seed!, "cont"));
        }
      }
    }
  }
  // Stage times: the stage markers of every SFT seed (they add up over resumed attempts).
  const wall: Record<string, number> = { data: 0, sft: 0, gate: 0, rl: 0, eval: 0, continuation: 0 };
  for (const [i, k] of exp.spec.sftSeeds.entries()) {
    const dir = sftSeedDir(runsRoot, id, k);
    // A seed trained beside another: its share of the elapsed time, not its own (side-by-side.ts).
    const share = timeShare(dir);
    for (const s of ["data", "sft", "rl", "eval"])
      wall[s]! += (readMarker(dir, s)?.wall_s ?? 0) * (s === "data" || s === "sft" ? share : 1);
    wall.gate! += (gateRuns[i]?.wall_s ?? 0) * share;
    const cd = path.join(dir, `cont-${exp.spec.continuation?.steps ?? 0}`, "done.json");
    if (fs.existsSync(cd)) wall.continuation! += (JSON.parse(fs.readFileSync(cd, "utf8")) as { wall_s: number }).wall_s;
  }
  meta.wall = wall;
  return { meta, rows };
}

/** The work items of `phase` for one experiment; what they need first is checked by checkPhase. */
async function runPhase(
  exp: Experiment,
  phase: Exclude<Phase, "judge">,
  runsRoot: string,
  opts: StudyOptions & { log: Log },
  plan: WorkItem[],
): Promise<boolean> {
  const id = exp.spec.id;
  const seeds = phaseSeeds(exp, phase, opts.sftSeeds);
  const kinds: Record<typeof phase, WorkItem["kind"][]> = {
    sft: ["sft", "gate"],
    rl: ["rl", "eval"],
    cont: ["continuation"],
  };
  const mine = plan.filter((i) => i.experiment === id && seeds.includes(i.sft) && kinds[phase].includes(i.kind));
  const eta = new Eta(mine, opts.log);
  opts.log(`[study] ${id}: phase ${phase}, SFT seed${seeds.length > 1 ? "s" : ""} ${seeds.join(", ")}`);
  if (phase !== "sft") {
    const gates = exp.spec.sftSeeds.map((k) => readGate(exp, sftSeedDir(runsRoot, exp.spec.id, k))!);
    if (!gateOutcome(gates).passed) {
      logGateFailed(exp, gates, opts.log, `gate failed: no ${phase === "rl" ? "RL" : "continuation"}`);
      return false;
    }
  }
  await initBackend(opts.backend);
  for (const k of seeds) {
    if (phase === "sft") await sftItem(exp, k, runsRoot, opts, eta);
    else if (phase === "rl") await rlItem(exp, k, runsRoot, opts, eta);
    else await contItem(exp, runsRoot, opts, eta);
  }
  opts.log(`[study] ${id}: phase ${phase} done for SFT seed${seeds.length > 1 ? "s" : ""} ${seeds.join(", ")}`);
  return true;
}

/** The flags of a phase call, checked before anything runs. */
function checkPhaseFlags(exps: readonly Experiment[], opts: StudyOptions): void {
  if (!opts.phase) {
    if (opts.sftSeeds?.length) throw new Error("--sft-seed chooses the SFT seeds of --phase sft or rl: add --phase");
    return;
  }
  const phase = opts.phase;
  if (!(PHASES as readonly string[]).includes(phase))
    throw new Error(`--phase ${phase}: not a phase (${PHASES.join(", ")})`);
  if (opts.rejudge)
    throw new Error("--phase and --rejudge exclude each other (--phase judge assembles the rows from the runs folder)");
  if (!opts.experiment || exps.length !== 1)
    throw new Error(`--phase ${phase} needs --experiment ID: a phase is one experiment's work items`);
  const exp = exps[0]!;
  const id = exp.spec.id;
  if (opts.sftSeeds?.length && phase !== "sft" && phase !== "rl")
    throw new Error(`--sft-seed: phase ${phase} has no SFT seed to choose (only phases sft and rl do)`);
  const unknown = (opts.sftSeeds ?? []).filter((k) => !exp.spec.sftSeeds.includes(k));
  if (unknown.length)
    throw new Error(
      `--sft-seed ${unknown.join(",")}: not an SFT seed of experiment ${id} (${exp.file} has ${exp.spec.sftSeeds.join(", ")})`,
    );
  if (phase === "cont" && !exp.spec.continuation)
    throw new Error(`--phase cont: experiment ${id} has no continuation (${exp.file})`);
}

/** The SFT seeds a phase works on: the given ones (checked), else all; cont: the continuation's seed. */
function phaseSeeds(exp: Experiment, phase: Phase, given: number[] | undefined): number[] {
  if (phase === "cont") return [continuationSeed(exp)];
  if (phase === "judge") return [...exp.spec.sftSeeds];
  return given?.length ? [...new Set(given)] : [...exp.spec.sftSeeds];
}

/**
 * What a phase needs before it writes anything: sft nothing; rl and cont every SFT seed's gate
 * (the majority rule needs all of them); judge every work item done with the current config.
 * Throws naming what is missing and the commands that make it.
 */
function checkPhase(
  exp: Experiment,
  phase: Phase,
  runsRoot: string,
  opts: StudyOptions,
  arithmetic: Arithmetic = {},
): void {
  const id = exp.spec.id;
  const cmd = `${opts.command ?? "bcr study"} --experiment ${id}`;
  if (phase === "sft") return;
  const noGate = exp.spec.sftSeeds.filter((k) => !readGate(exp, sftSeedDir(runsRoot, exp.spec.id, k)));
  if (phase !== "judge") {
    if (noGate.length)
      throw new Error(
        `--phase ${phase}: the gate of SFT seed${noGate.length > 1 ? "s" : ""} ${noGate.join(", ")} of experiment ${id} is missing or stale ` +
          `(${noGate.map((k) => path.join(sftSeedDir(runsRoot, id, k), "gate.json")).join(", ")}); the majority rule needs every SFT seed's gate: ` +
          `run \`${cmd} --phase sft --sft-seed ${noGate.join(",")}\` first`,
      );
    return;
  }
  const missing = missingItems(exp, runsRoot, arithmetic);
  if (missing.length) {
    const byPhase = (p: Phase) => missing.filter((m) => m.phase === p).map((m) => m.sft);
    const fixes = (["sft", "rl", "cont"] as const)
      .filter((p) => byPhase(p).length)
      .map((p) => `\`${cmd} --phase ${p}${p === "cont" ? "" : ` --sft-seed ${byPhase(p).join(",")}`}\``);
    throw new Error(
      `--phase judge: experiment ${id} has ${missing.length} work item${missing.length > 1 ? "s" : ""} not done: ` +
        `${missing.map((m) => `${m.phase} sft-${m.sft} (${m.why})`).join("; ")}; run ${fixes.join(", then ")}${
          missing.every((m) => m.phase === "sft") ? " (then the rl items the gate asks for)" : ""
        }`,
    );
  }
}

interface MissingItem {
  phase: Exclude<Phase, "judge">;
  sft: number;
  why: string;
}

/** The kernel set and arithmetic fingerprint that enter the stage hashes (pipeline.ts, stageHashes). */
interface Arithmetic {
  kernels?: string;
  arithmetic?: string;
}

/** The work items of an experiment not done with its current config (the rl items only once every gate is known). */
function missingItems(exp: Experiment, runsRoot: string, a: Arithmetic): MissingItem[] {
  const missing: MissingItem[] = [];
  const stageWhy = (dir: string, stages: string[], hashes: Record<string, string>) => {
    for (const s of stages) {
      const m = readMarker(dir, s);
      if (!m) return `no ${s} stage (${markerFile(dir, s)})`;
      if (m.status !== "done") return `its ${s} stage is ${m.status}, not done`;
      if (m.hash !== hashes[s])
        return `its ${s} stage was done with another config (hash ${m.hash}, expected ${hashes[s]})`;
    }
    return null;
  };
  const hashes = new Map(
    exp.spec.sftSeeds.map((k) => [
      k,
      stageHashes(sftSeedConfig(exp, k, runsRoot), a.kernels, a.arithmetic) as Record<string, string>,
    ]),
  );
  for (const k of exp.spec.sftSeeds) {
    const dir = sftSeedDir(runsRoot, exp.spec.id, k);
    const why =
      stageWhy(dir, ["data", "sft"], hashes.get(k)!) ??
      (readGate(exp, sftSeedDir(runsRoot, exp.spec.id, k))
        ? null
        : `no gate for its SFT model (${path.join(dir, "gate.json")})`);
    if (why) missing.push({ phase: "sft", sft: k, why });
  }
  if (missing.length) return missing;
  const gates = exp.spec.sftSeeds.map((k) => readGate(exp, sftSeedDir(runsRoot, exp.spec.id, k))!);
  if (!gateOutcome(gates).passed) return [];
  for (const k of exp.spec.sftSeeds) {
    const why = stageWhy(sftSeedDir(runsRoot, exp.spec.id, k), ["rl", "eval"], hashes.get(k)!);
    if (why) missing.push({ phase: "rl", sft: k, why });
  }
  if (exp.spec.continuation) {
    const k = continuationSeed(exp);
    const state = continuationState(exp, k, runsRoot);
    if (!state.done) missing.push({ phase: "cont", sft: k, why: state.why });
  }
  return missing;
}

function runEnd(dir: string, arm: string, sft: number, rl: number, set: "main" | "cont"): RunEnd {
  const s = new RunFolder(dir).readSummary<{
    steps: number;
    initialEvalAccuracy?: number | null;
    final?: Record<string, number>;
  }>();
  return {
    arm,
    sft,
    rl,
    set,
    steps: s.steps,
    initialAccuracy: s.initialEvalAccuracy ?? null,
    finalAccuracy: s.final?.["eval/accuracy"] ?? null,
    finalTokens: s.final?.["eval/tokens_per_problem"] ?? null,
  };
}

/** The gate settings of an experiment, every default filled in from its eval settings. */
function gateSpecs(exp: Experiment) {
  const c = exp.base;
  return exp.gates.map((g) => {
    const n = g.metric === "forced_bare_accuracy_n8" ? 8 : 1;
    return {
      ...g,
      problems: g.problems ?? c.eval.problems,
      samples: g.samples ?? c.eval.samples,
      budget: g.budget ?? (n === 1 ? c.eval.n1Budget : c.eval.sweepBudget),
    };
  });
}

/** gate.json's key: the SFT model (its stage hash), the gate settings, the seed and the difficulty split. */
function gateHash(exp: Experiment, dir: string): string {
  const sftHash = readMarker(dir, "sft")?.hash ?? null;
  return stageHash({
    sftHash,
    specs: gateSpecs(exp),
    seed: exp.base.analysis.seed,
    difficulty: exp.spec.difficulty ?? null,
  });
}

/** The gate of the SFT seed in `dir` as measured on its current SFT model, or null (not measured, or for another model). */
function readGate(exp: Experiment, dir: string): SeedGateRun | null {
  const file = path.join(dir, "gate.json");
  if (!fs.existsSync(file)) return null;
  try {
    const prior = JSON.parse(fs.readFileSync(file, "utf8")) as { hash: string; gate: SeedGate; wall_s: number };
    return prior.hash === gateHash(exp, dir) ? { gate: prior.gate, wall_s: prior.wall_s } : null;
  } catch {
    return null;
  }
}

/** The gate of one SFT seed, measured once per SFT model and gate (gate.json, keyed by both). */
async function seedGate(exp: Experiment, k: number, dir: string, opts: StudyOptions): Promise<SeedGateRun> {
  const c = exp.base;
  const L = layout(dir, "unused");
  const specs = gateSpecs(exp);
  const prior = readGate(exp, dir);
  if (prior) return prior;
  const hash = gateHash(exp, dir);
  const file = path.join(dir, "gate.json");
  // The measurement's response caches live under gate/<hash>/: a cache written for another SFT
  // model in this folder (an earlier recipe or config, same model name) must never answer for this
  // one, so those go; this model's own cache stays, and a killed measurement resumes from it.
  const gateDir = path.join(dir, "gate");
  if (fs.existsSync(gateDir))
    for (const e of fs.readdirSync(gateDir))
      if (e !== hash) fs.rmSync(path.join(gateDir, e), { recursive: true, force: true });
  const t0 = performance.now();
  const { gpt, tokenizer } = await loadLocal(L.sft);
  try {
    const model = new LocalModel({
      model: gpt,
      tokenizer,
      name: `${exp.spec.id}/sft-${k}`,
      maxBatch: c.eval.batchSize,
    });
    const test = loadSyntheticDataset(L.data, "test");
    const measured: SeedGate["gates"] = [];
    for (const [i, g] of specs.entries()) {
      const m = await measureGate(g.metric, {
        model,
        problems: test.slice(0, g.problems),
        samples: g.samples,
        budget: g.budget,
        seed: c.analysis.seed,
        outDir: path.join(gateDir, hash, `${i}-${g.metric}`),
        batchSize: c.eval.batchSize,
        ...(exp.spec.difficulty ? { difficulty: exp.spec.difficulty } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const verdict = gateOf(g.metric, m.figure, g.threshold, g.direction);
      measured.push({
        metric: g.metric,
        measured: m.figure,
        threshold: g.threshold,
        direction: g.direction,
        passed: verdict.passed,
        how: m.how,
      });
    }
    const gate: SeedGate = { sft: k, passed: measured.every((g) => g.passed), gates: measured };
    const wall_s = (performance.now() - t0) / 1000;
    writeJsonAtomic(file, { hash, gate, wall_s });
    return { gate, wall_s };
  } finally {
    gpt.dispose();
  }
}

/**
 * Experiment A's continuation: the continued methods trained for cont.steps on one SFT seed (fresh
 * runs with the main runs' seeds: the same RNG streams, so their first steps are the main runs'),
 * then their sampled N=1 eval. Resumable: trainRl resumes from checkpoints, finished evals are kept.
 */
async function runContinuation(exp: Experiment, k: number, runsRoot: string, opts: StudyOptions & { log: Log }) {
  const { config, layout: L, doneFile } = continuationSetup(exp, k, runsRoot);
  const state = continuationState(exp, k, runsRoot);
  if (state.done) return;
  if (state.stale) {
    // Its runs and evals answer for another config (another SFT model, other methods): they would
    // be resumed or kept as finished, so they go, and the continuation starts over.
    opts.log(`[study] ${exp.spec.id} sft-${k}: ${state.why}; starting it over`);
    for (const d of [L.rl, L.eval, doneFile]) fs.rmSync(d, { recursive: true, force: true });
  }
  const t0 = performance.now();
  await runRl(config, L, opts.log, opts.progress ?? true, undefined, opts.signal);
  const derived = derive(config, readDataStats(L));
  const test = loadSyntheticDataset(L.data, "test").slice(0, config.eval.problems);
  // Its models rl.workers at a time, as the eval stage runs its own (issue 31: one after another
  // they left a core idle for a third of the continuation); every request has its own seed, so
  // the files are the same either way. Finished ones (eval.json) are kept.
  const refs = modelsToEvaluate(config, L, derived).filter((r) => r.method !== "sft");
  await evaluateModels(refs, config, test, opts.log, opts.progress ?? true, opts.signal);
  markContinuationDone(exp, k, runsRoot, (performance.now() - t0) / 1000);
}

/** <out>/study/<id>/report.md: the rules and their commit, the gate per SFT seed, the verdicts, the arms. */
function writeReport(exp: Experiment, meta: RowsMeta, j: Judgement, rules: RulesProvenance, out: string): void {
  const s = exp.spec;
  const { commit, dirty } = rules;
  const ci = (e: { mean: number; ci: [number, number] }, d = 3) =>
    `${e.mean.toFixed(d)} [${e.ci[0].toFixed(d)}, ${e.ci[1].toFixed(d)}]`;
  const lines = [
    `## Experiment ${s.id}`,
    "",
    s.question,
    "",
    commit
      ? `Rules, fixed in \`${path.relative(process.cwd(), exp.file)}\` at commit \`${commit}\`${dirty ? " (the file has changes after that commit: these rules are not the committed ones)" : ""}:`
      : `Rules in \`${path.relative(process.cwd(), exp.file)}\`, NOT COMMITTED: they were not fixed in the repository before this run:`,
    "",
    ...Object.entries(s.rules).map(([k, v]) => `- ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`),
    ...(s.pilot ? [`- pilot: ${s.pilot}`] : []),
    "",
    `Design: SFT seeds ${s.sftSeeds.join(", ")}; RL seeds ${s.rlSeeds.join(", ")} on each; ${meta.test.problems} test problems (the split has ${meta.test.available}); ${exp.base.eval.samples} samples per problem at temperature ${exp.base.eval.temperature}${exp.base.eval.greedy ? ", greedy beside it" : ""}. Intervals: three-level bootstrap (SFT seed, RL seed, problem), ${s.rules.bootstrap} resamples, level ${s.rules.level}.`,
    "",
    "### Gate",
    "",
    "| SFT seed | metric | figure | threshold | passed | how |",
    "|---|---|---|---|---|---|",
    ...meta.gate.flatMap((g) =>
      g.gates.map(
        (x) =>
          `| ${g.sft} | ${x.metric} | ${x.measured.toFixed(3)} | ${x.direction} ${x.threshold} | ${x.passed ? "yes" : "no"} | ${x.how} |`,
      ),
    ),
    "",
    `Gate ${meta.gatePassed ? "passed" : "failed"} (${gateFigure(meta.gate)}; a majority of SFT seeds must pass).`,
    "",
    "### Findings",
    "",
    "| claim | verdict | figure |",
    "|---|---|---|",
    ...j.claims.map((c) => `| ${c.id} | ${c.verdict} | ${c.figure.replace(/\|/g, "\\|")} |`),
    "",
    ...(j.arms.length
      ? [
          "### Arms at N=1",
          "",
          "| arm | accuracy | tokens/problem | loops/response | greedy accuracy |",
          "|---|---|---|---|---|",
          ...j.arms.map(
            (a) =>
              `| ${a.arm} | ${ci(a.accuracy)} | ${ci(a.tokens, 1)} | ${a.loops ? ci(a.loops, 2) : "-"} | ${a.greedyAccuracy === null ? "-" : a.greedyAccuracy.toFixed(3)} |`,
          ),
          "",
        ]
      : []),
    ...(j.notes.length ? ["### Notes", "", ...j.notes.map((n) => `- ${n}`), ""] : []),
  ];
  const dir = path.join(out, "study", s.id);
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, "report.md"), lines.join("\n"));
}
