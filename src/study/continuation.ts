/**
 * Experiment A's continuation: some arms trained longer (cont.steps) on one SFT seed, in
 * <runs>/<id>/sft-<k>/cont-<steps>/, and when finished its done.json:
 *   { hash, wall_s }
 * The hash covers what the continuation was made from, as a stage marker's does (stages.ts): the
 * SFT model it started from (that stage's own hash), its RL settings (steps, the continued methods,
 * seeds) and its N=1 eval. A done.json with another hash, or none (written before the hash was
 * recorded), is a continuation done with another config: not done for this one. The runner, the
 * plan and the judge phase all ask continuationState, so they agree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Layout, layout } from "../reproduce/layout.js";
import { readMarker, stageHash } from "../reproduce/stages.js";
import { writeJsonAtomic } from "../util/fsx.js";
import { type Experiment, methodLabel, sftSeedConfig } from "./config.js";

/** The SFT seed the continuation runs on (cont.sftSeed, else the experiment's first). */
export const continuationSeed = (exp: Experiment) => exp.spec.continuation!.sftSeed ?? exp.spec.sftSeeds[0]!;

/** The continuation's config (rl.steps, the continued methods, an N=1-only eval) and folders cont-<steps>/. */
export function continuationSetup(exp: Experiment, k: number, runsRoot: string) {
  const cont = exp.spec.continuation!;
  const c = sftSeedConfig(exp, k, runsRoot);
  const config = {
    ...c,
    rl: { ...c.rl, steps: cont.steps, methods: c.rl.methods.filter((m) => cont.methods.includes(methodLabel(m))) },
    eval: { ...c.eval, ns: [1], greedy: false },
  };
  const base = layout(c.runs, c.out);
  const dir = path.join(c.runs, `cont-${cont.steps}`);
  const L: Layout = { ...base, rl: path.join(dir, "rl"), eval: path.join(dir, "eval") };
  return { config, layout: L, dir, doneFile: path.join(dir, "done.json") };
}

/** What the continuation on SFT seed k is made from (see the header). */
export function continuationHash(exp: Experiment, k: number, runsRoot: string): string {
  const { config } = continuationSetup(exp, k, runsRoot);
  // rl.workers only sets how many runs train at once, not what they compute (as in stageHashes).
  const { workers: _workers, ...rl } = config.rl;
  return stageHash({
    sft: readMarker(config.runs, "sft")?.hash ?? null,
    rl,
    seeds: config.seeds,
    levels: config.data.levels,
    eval: config.eval,
    seed: config.analysis.seed,
  });
}

export type ContinuationState = { done: true } | { done: false; why: string; stale: boolean };

/** Whether the continuation on SFT seed k is done with the current config; if not, why (stale: done with another). */
export function continuationState(exp: Experiment, k: number, runsRoot: string): ContinuationState {
  const { doneFile } = continuationSetup(exp, k, runsRoot);
  if (!fs.existsSync(doneFile)) return { done: false, why: `no ${doneFile}`, stale: false };
  let hash: unknown;
  try {
    hash = (JSON.parse(fs.readFileSync(doneFile, "utf8")) as { hash?: unknown }).hash;
  } catch (e) {
    return { done: false, why: `${doneFile} is not readable JSON (${(e as Error).message})`, stale: true };
  }
  const expected = continuationHash(exp, k, runsRoot);
  if (hash === expected) return { done: true };
  return {
    done: false,
    why: `the continuation was done with another config (${doneFile}: ${typeof hash === "string" ? `hash ${hash}` : "no hash recorded"}, expected ${expected})`,
    stale: true,
  };
}

/** Marks the continuation on SFT seed k done with the current config, after `wall_s` seconds of work. */
export function markContinuationDone(exp: Experiment, k: number, runsRoot: string, wall_s: number): void {
  writeJsonAtomic(continuationSetup(exp, k, runsRoot).doneFile, { hash: continuationHash(exp, k, runsRoot), wall_s });
}
