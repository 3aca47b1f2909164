/**
 * Idempotent, resumable stages. Each stage has a hash of everything it depends on (its own
 * settings plus the hashes of the stages before it) and keeps a marker in
 * `<runs>/.reproduce/<stage>.json`:
 *   { stage, hash, status: "running" | "done", started, finished, wall_s, info }
 *
 * Decision (decideStage):
 *   --force, no marker, or a marker with another hash  -> fresh: delete the stage's outputs, run
 *   marker "done", same hash, every output present     -> skip
 *   otherwise (same hash, "running" or outputs missing) -> resume: run again without deleting;
 *     the work inside resumes itself (trainSft/trainRl from checkpoints, sweepN from its cache)
 * wall_s adds up over resumed attempts, so it is the time the stage cost in total.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../util/fsx.js";

export type StageAction = "skip" | "resume" | "fresh";

export interface StageMarker {
  stage: string;
  hash: string;
  status: "running" | "done";
  started: string;
  finished?: string;
  /** Seconds spent in this stage, over every attempt with this hash. */
  wall_s: number;
  info?: Record<string, unknown>;
}

/** JSON with object keys sorted, so equal values hash equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** 16 hex digits of sha256 over the canonical JSON of `value`. */
export function stageHash(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 16);
}

export function markerFile(runsDir: string, stage: string): string {
  return path.join(runsDir, ".reproduce", `${stage}.json`);
}

export function readMarker(runsDir: string, stage: string): StageMarker | null {
  const f = markerFile(runsDir, stage);
  if (!fs.existsSync(f)) return null;
  try {
    return JSON.parse(fs.readFileSync(f, "utf8")) as StageMarker;
  } catch {
    return null; // a corrupt marker is no marker: the stage runs fresh
  }
}

export function decideStage(
  marker: StageMarker | null,
  hash: string,
  opts: { force?: boolean; outputsExist: boolean },
): StageAction {
  if (opts.force || !marker || marker.hash !== hash) return "fresh";
  if (marker.status === "done" && opts.outputsExist) return "skip";
  return "resume";
}

export interface StageSpec {
  name: string;
  hash: string;
  /** Files or folders that must exist for a done stage to be skipped. */
  outputs: string[];
  /** Files or folders deleted before a fresh run. */
  clean: string[];
  /** Does the work; returns facts to keep in the marker (counts, derived numbers). */
  run(action: Exclude<StageAction, "skip">): Promise<Record<string, unknown> | undefined>;
}

export interface StageRunOptions {
  runsDir: string;
  force?: boolean;
  /** Stages allowed to run; the others must already be done with their current hash. */
  only?: string[];
  log?: (line: string) => void;
}

/** Run, resume or skip one stage (see the header); returns its final marker. */
export async function runStage(spec: StageSpec, opts: StageRunOptions): Promise<StageMarker & { action: StageAction }> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const marker = readMarker(opts.runsDir, spec.name);
  const outputsExist = spec.outputs.every((p) => fs.existsSync(p));
  const selected = !opts.only || opts.only.includes(spec.name);
  const action = decideStage(marker, spec.hash, { force: selected && opts.force, outputsExist });
  if (!selected) {
    if (action !== "skip") {
      throw new Error(
        `stage ${spec.name} is not done with the current config (${marker ? `marker hash ${marker.hash}, status ${marker.status}` : "no marker"}, ` +
          `expected hash ${spec.hash}); add it to --only or drop --only`,
      );
    }
    log(
      `[reproduce] ${spec.name}: done earlier (hash ${spec.hash}, ${marker!.wall_s.toFixed(1)} s), not selected by --only`,
    );
    return { ...marker!, action };
  }
  if (action === "skip") {
    log(
      `[reproduce] ${spec.name}: skipped, done earlier with the same config (hash ${spec.hash}, ${marker!.wall_s.toFixed(1)} s); --force redoes it`,
    );
    return { ...marker!, action };
  }
  if (action === "fresh") {
    for (const p of spec.clean) fs.rmSync(p, { recursive: true, force: true });
  }
  const prior = action === "resume" ? marker!.wall_s : 0;
  const started = new Date().toISOString();
  log(`[reproduce] ${spec.name}: ${action === "fresh" ? "running" : "resuming"} (hash ${spec.hash})`);
  const file = markerFile(opts.runsDir, spec.name);
  const running: StageMarker = { stage: spec.name, hash: spec.hash, status: "running", started, wall_s: prior };
  writeJsonAtomic(file, running);
  const t0 = performance.now();
  let info: Record<string, unknown>;
  try {
    info = (await spec.run(action)) ?? {};
  } catch (e) {
    // Keep the time spent: a resumed attempt adds to it.
    writeJsonAtomic(file, { ...running, wall_s: prior + (performance.now() - t0) / 1000 });
    throw e;
  }
  const done: StageMarker = {
    ...running,
    status: "done",
    finished: new Date().toISOString(),
    wall_s: prior + (performance.now() - t0) / 1000,
    info,
  };
  writeJsonAtomic(file, done);
  log(`[reproduce] ${spec.name}: done in ${(done.wall_s - prior).toFixed(1)} s`);
  return { ...done, action };
}
