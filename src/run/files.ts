/**
 * The names inside a run folder, in one place. A run folder (one SFT or RL run) holds:
 *
 *   config.json     the resolved config the run trains with (resume refuses another one)
 *   backend.json    the compute backend it ran on
 *   metrics.jsonl   one JSON record per logged step (step convention: src/run/metrics.ts)
 *   samples.jsonl   RL only: one sampled response every `samplesEvery` steps
 *   summary.json    written when the run finishes (RL)
 *   train.log       stdout/stderr of a run trained in a worker process (bcr reproduce)
 *   checkpoints/step-NNNNNNN/, checkpoints/latest   (src/run/checkpoint.ts)
 *
 * Code that reads or writes any of these asks here for the path instead of spelling the name.
 */
import * as path from "node:path";

export const RUN_FILES = {
  config: "config.json",
  backend: "backend.json",
  metrics: "metrics.jsonl",
  samples: "samples.jsonl",
  summary: "summary.json",
  log: "train.log",
  checkpoints: "checkpoints",
} as const;

/** Inside `checkpoints/`: the file naming the newest checkpoint. */
export const LATEST_POINTER = "latest";

export type RunFileName = keyof typeof RUN_FILES;

/** The path of one file of the run folder `dir`. */
export function runFile(dir: string, name: RunFileName): string {
  return path.join(dir, RUN_FILES[name]);
}

/** `<dir>/checkpoints`, the folder saveRunCheckpoint and latestCheckpoint work in. */
export function checkpointsDir(dir: string): string {
  return runFile(dir, "checkpoints");
}

/** `<dir>/checkpoints/latest`: present once the run has saved a checkpoint. */
export function latestPointer(dir: string): string {
  return path.join(checkpointsDir(dir), LATEST_POINTER);
}
