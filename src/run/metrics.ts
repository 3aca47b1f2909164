/**
 * metrics.jsonl, with one step convention for every trainer:
 *
 *   a record's `step` is the number of optimizer updates the model had received when the
 *   record's numbers were measured.
 *
 * So the first training record (the loss or the rollouts of the initial model, and the eval
 * before any update) is step 0, an eval after the last update is step = steps, and the record of
 * update k (0-based) says step k. A checkpoint "at step c" holds the model after c updates and is
 * saved before any record with step >= c is written; resuming from it therefore drops every
 * record with step >= c (they are redone exactly, from the same RNG states).
 *
 * RL runs have always logged this way. SFT runs written before this module labelled the record
 * of update k as k + 1 (1-based); readers (metricCurve, readRun) take the steps as written, so an
 * old SFT loss curve shows one step later than a new one, with the same values.
 */
import * as fs from "node:fs";
import { appendJsonl, readJsonl, writeFileAtomic } from "../util/fsx.js";

export type MetricsRecord = Record<string, number>;

export class MetricsLog {
  constructor(
    readonly file: string,
    /** Called with every record as it is appended (notebooks, live progress lines). */
    private readonly onRecord?: (record: MetricsRecord) => void,
  ) {}

  append(record: MetricsRecord & { step: number }): void {
    appendJsonl(this.file, record);
    this.onRecord?.(record);
  }

  /** The records written so far (none when the file does not exist). */
  read(): (MetricsRecord & { step: number })[] {
    return fs.existsSync(this.file) ? readJsonl<MetricsRecord & { step: number }>(this.file) : [];
  }

  /** Whether a record with this step was written. */
  has(step: number): boolean {
    return this.read().some((r) => r.step === step);
  }

  /** Resuming from the checkpoint at `step`: keep only records measured before it (see the header). */
  keepBefore(step: number): void {
    if (!fs.existsSync(this.file)) return;
    const kept = this.read().filter((r) => (r.step ?? 0) < step);
    writeFileAtomic(this.file, kept.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  clear(): void {
    fs.rmSync(this.file, { force: true });
  }
}
