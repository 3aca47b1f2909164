/**
 * A run folder (files.ts) as one object: the config it trains with, the backend it ran on, its
 * metrics (metrics.ts), its checkpoints, samples and summary. SFT and RL both train through it,
 * so they resume, log and checkpoint the same way and keep only their algorithm.
 *
 * Life of a run:  open -> load and check everything (the latest checkpoint: loadLatest) ->
 * writeHeader -> (resumeFrom it | start fresh) -> log/checkpoint per step -> summary. Nothing is
 * written before every check passed, so a refused run leaves its folder byte-identical (a new one
 * is not created). Starting fresh deletes what an earlier run left (metrics, samples,
 * checkpoints): nothing from it may mix with the new run.
 */
import * as fs from "node:fs";
import { backendInfo, tf } from "../engine/backend.js";
import {
  latestCheckpoint,
  loadCheckpoint,
  saveRunCheckpoint,
  type CheckpointInput,
  type LoadedCheckpoint,
  type LoadOptions,
} from "./checkpoint.js";
import { appendJsonl, writeJsonAtomic } from "../util/fsx.js";
import { checkpointsDir, runFile } from "./files.js";
import { MetricsLog, type MetricsRecord } from "./metrics.js";

const configText = (config: unknown) => JSON.stringify(config, null, 2) + "\n";

export class RunFolder {
  readonly metrics: MetricsLog;

  constructor(
    readonly dir: string,
    opts: { onMetrics?: (record: MetricsRecord) => void } = {},
  ) {
    this.metrics = new MetricsLog(runFile(dir, "metrics"), opts.onMetrics);
  }

  /** Whether an earlier run left its config here. */
  hasConfig(): boolean {
    return fs.existsSync(runFile(this.dir, "config"));
  }

  /** Throw unless the folder is new or holds exactly this config (a resume must not change the run). */
  requireSameConfig(config: unknown): void {
    const file = runFile(this.dir, "config");
    if (fs.existsSync(file) && fs.readFileSync(file, "utf8") !== configText(config)) {
      throw new Error(
        `${file}: this run folder holds a different config; resume needs the same config (use another --out for a new run)`,
      );
    }
  }

  /** Create the folder and write config.json and backend.json (call once everything that can fail was loaded). */
  writeHeader(config: unknown): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeJsonAtomic(runFile(this.dir, "config"), config);
    writeJsonAtomic(runFile(this.dir, "backend"), backendInfo() ?? { name: tf.getBackend() });
  }

  /** The newest checkpoint's directory, or null before the first one. */
  latestCheckpoint(): string | null {
    return latestCheckpoint(checkpointsDir(this.dir));
  }

  /**
   * Load the newest checkpoint to resume from, dropping the metrics it does not cover (records
   * with step >= its step: they are redone). Null when there is none.
   */
  resume(load: LoadOptions = {}): LoadedCheckpoint | null {
    const ck = this.loadLatest(load);
    if (ck) this.resumeFrom(ck);
    return ck;
  }

  /**
   * The newest checkpoint, read and verified (LoadOptions), or null when there is none. Writes
   * nothing: a trainer loads and restores it before writeHeader, so a refused resume leaves the
   * folder as it was; then resumeFrom(ck).
   */
  loadLatest(load: LoadOptions = {}): LoadedCheckpoint | null {
    const latest = this.latestCheckpoint();
    return latest ? loadCheckpoint(latest, load) : null;
  }

  /** Continue from `ck` (loadLatest): drop the metrics it does not cover (step >= its step: they are redone). */
  resumeFrom(ck: LoadedCheckpoint): void {
    this.metrics.keepBefore(ck.step);
  }

  /** Forget an earlier run in this folder: its metrics, samples and checkpoints. */
  startFresh(): void {
    this.metrics.clear();
    fs.rmSync(runFile(this.dir, "samples"), { force: true });
    fs.rmSync(checkpointsDir(this.dir), { recursive: true, force: true });
  }

  /** Save checkpoints/step-N/ and point checkpoints/latest at it; keep the newest `keepLast` (0: all). */
  saveCheckpoint(input: CheckpointInput, keepLast: number): string {
    return saveRunCheckpoint(checkpointsDir(this.dir), input, { keepLast });
  }

  /** Append one record to samples.jsonl. */
  logSample(record: Record<string, unknown>): void {
    appendJsonl(runFile(this.dir, "samples"), record);
  }

  hasSummary(): boolean {
    return fs.existsSync(runFile(this.dir, "summary"));
  }

  writeSummary(summary: Record<string, unknown>): void {
    writeJsonAtomic(runFile(this.dir, "summary"), summary);
  }

  readSummary<T = Record<string, unknown>>(): T {
    const file = runFile(this.dir, "summary");
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  }
}
