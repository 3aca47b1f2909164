/**
 * Stage sft: the SFT model every RL run starts from (trainSft in sft/, resumable), or with
 * sft.extend two phases: sft-base/, then sft/ continuing it with its own data and context.
 */
import * as path from "node:path";
import { RunStopped } from "../run/interrupt.js";
import { trainSft } from "../train/sft.js";
import type { SftConfig } from "../train/sft-config.js";
import { readJsonl } from "../util/fsx.js";
import type { ReproduceConfig } from "./config.js";
import type { Layout, Log } from "./layout.js";

export async function runSft(
  config: ReproduceConfig,
  L: Layout,
  log: Log,
  progress: boolean,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const ext = config.sft.extend;
  const first = await trainSftPhase(
    config.sft.run,
    "sft.jsonl",
    "sft.run",
    ext ? L.sftBase : L.sft,
    L,
    log,
    progress,
    signal,
  );
  if (!ext) return first;
  // The second phase starts from the first one's weights; trainSft lets its context grow.
  const second = await trainSftPhase(
    { ...ext.run, init: L.sftBase },
    "sft-extend.jsonl",
    "sft.extend.run",
    L.sft,
    L,
    log,
    progress,
    signal,
  );
  return { ...second, base: first };
}

/** One SFT run on one examples file of the data stage (resumes or returns when already done). */
async function trainSftPhase(
  run: SftConfig,
  file: string,
  field: string,
  dir: string,
  L: Layout,
  log: Log,
  progress: boolean,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const all = readJsonl<{ prompt: string; response: string }>(path.join(L.data, file));
  // BOS + prompt + response + EOS must fit the context; longer examples are left out (counted).
  const fits = all.filter((e) => e.prompt.length + e.response.length + 2 <= run.model.blockSize);
  if (fits.length === 0)
    throw new Error(`no SFT example of data/${file} fits ${field}.model.blockSize ${run.model.blockSize}`);
  if (fits.length < all.length)
    log(
      `[reproduce] sft: ${all.length - fits.length} of ${all.length} examples of data/${file} exceed ${field}.model.blockSize ${run.model.blockSize} and are left out`,
    );
  const r = await trainSft(
    run,
    fits.map((e) => ({ prompt: e.prompt, response: e.response })),
    dir,
    { progress: progress ? process.stderr : false, ...(signal ? { signal } : {}) },
  );
  r.model.dispose();
  if (r.stopped) throw new RunStopped(`sft (${dir})`, r.step);
  const last = r.losses[r.losses.length - 1];
  const ev = r.evalLosses[r.evalLosses.length - 1];
  return {
    examples: fits.length,
    dropped: all.length - fits.length,
    step: r.step,
    trainLoss: last?.loss ?? null,
    evalLoss: ev?.loss ?? null,
  };
}
