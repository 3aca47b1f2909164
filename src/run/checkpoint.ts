/**
 * Checkpoints: one directory per checkpoint, written atomically and verified on load.
 *
 *   model.json      model config, parameter names/shapes/dtypes/byte offsets, sha256 of weights.bin
 *   weights.bin     all parameters, float32 little-endian, concatenated in the model's order
 *   optimizer.json  optimizer kind, step, hyperparameters, per-parameter offsets, sha256
 *   optimizer.bin   AdamW first and second moments (m then v per parameter), float32
 *   state.json      training step, RNG state(s), anything extra (data cursor, metrics so far)
 *
 * Atomicity: everything is written and fsync'ed into `<dir>.tmp-<pid>`; only then is an existing
 * `<dir>` renamed aside to `<dir>.old-<pid>`, the new one renamed into place and the old one
 * deleted. A crash before the swap leaves the old checkpoint untouched; a crash during the swap
 * leaves `<dir>.old-<pid>`, which loadCheckpoint falls back to. Within a run folder checkpoints
 * go to `checkpoints/step-NNNNNNN/` and the file `checkpoints/latest` (replaced atomically after
 * the directory is complete) names the newest one.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf } from "../engine/backend.js";
import { writeDurable, writeFileAtomic } from "../util/fsx.js";

/** Moments of one parameter, for checkpoints. */
export interface MomentState {
  shape: number[];
  m: Float32Array;
  v: Float32Array;
}

/** Everything needed to continue optimisation exactly: the step count and all moments. */
export interface AdamWState {
  /** Number of update steps taken so far. */
  step: number;
  /** Keyed by parameter name, in the parameters' order. */
  moments: Map<string, MomentState>;
}

/**
 * What a checkpoint needs of an optimizer (AdamW in src/train/optim.ts satisfies it). Declared
 * here, not imported, because the run folder sits below the trainers in the layer order.
 */
export interface CheckpointableOptimizer {
  readonly options: { beta1: number; beta2: number; eps: number; weightDecay: number };
  getState(): AdamWState;
  setState(state: AdamWState): void;
}

export const CHECKPOINT_FORMAT = "bcr-checkpoint/1";

/** What a checkpoint needs from a model: the GPT class satisfies it. */
export interface CheckpointableModel {
  readonly config: object;
  readonly params: Map<string, tf.Variable>;
}

/** A JSON-serialisable RNG state: one stream (Rng.state) or several named ones. */
export type RngState = number | Record<string, number>;

export interface CheckpointInput {
  model: CheckpointableModel;
  optimizer?: CheckpointableOptimizer;
  step: number;
  rngState?: RngState;
  /** Anything else the trainer needs to resume (data cursor, metrics so far). JSON only. */
  extra?: Record<string, unknown>;
}

export interface ParamEntry {
  name: string;
  shape: number[];
  dtype: "float32";
  /** Byte offset into weights.bin. */
  offset: number;
  byteLength: number;
}

export interface ModelFile {
  format: string;
  config: Record<string, unknown>;
  params: ParamEntry[];
  weightsBytes: number;
  weightsSha256: string;
}

interface OptimizerFile {
  format: string;
  kind: "adamw";
  step: number;
  options: { beta1: number; beta2: number; eps: number; weightDecay: number };
  entries: { name: string; shape: number[]; offsetM: number; offsetV: number; length: number }[];
  bytes: number;
  sha256: string;
}

export interface StateFile {
  step: number;
  rngState?: RngState;
  extra?: Record<string, unknown>;
  savedAt: string;
}

export interface LoadedCheckpoint {
  dir: string;
  model: ModelFile;
  /** Parameter values by name, in checkpoint order. */
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  optimizer?: AdamWState;
  step: number;
  rngState?: RngState;
  extra: Record<string, unknown>;
}

/** The checkpoint could not be used; the message names the file and what is wrong. */
export class CheckpointError extends Error {
  override name = "CheckpointError";
}

// ---------------------------------------------------------------------------------------------
// Saving

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function concatFloat32(parts: Float32Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
    off += p.byteLength;
  }
  return out;
}

export interface SaveOptions {
  /** Test hook: called after each file is written into the temporary directory. */
  afterWrite?: (file: string) => void;
}

/** Write a checkpoint directory atomically (see the header comment). Returns `dir`. */
export function saveCheckpoint(dir: string, input: CheckpointInput, opts: SaveOptions = {}): string {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const put = (name: string, data: string | Uint8Array) => {
    const file = path.join(tmp, name);
    writeDurable(file, data);
    opts.afterWrite?.(file);
  };

  // weights.bin + model.json
  const params: ParamEntry[] = [];
  const arrays: Float32Array[] = [];
  let offset = 0;
  for (const [name, v] of input.model.params) {
    if (v.dtype !== "float32")
      throw new CheckpointError(`saveCheckpoint: parameter ${name} has dtype ${v.dtype}; only float32 is supported`);
    const data = v.dataSync() as Float32Array;
    params.push({ name, shape: [...v.shape], dtype: "float32", offset, byteLength: data.byteLength });
    arrays.push(data);
    offset += data.byteLength;
  }
  const weights = concatFloat32(arrays);
  put("weights.bin", weights);
  const modelFile: ModelFile = {
    format: CHECKPOINT_FORMAT,
    config: { ...(input.model.config as Record<string, unknown>) },
    params,
    weightsBytes: weights.byteLength,
    weightsSha256: sha256(weights),
  };
  put("model.json", JSON.stringify(modelFile, null, 2) + "\n");

  // optimizer.bin + optimizer.json
  if (input.optimizer) {
    const state = input.optimizer.getState();
    const entries: OptimizerFile["entries"] = [];
    const parts: Float32Array[] = [];
    let off = 0;
    for (const [name, s] of state.moments) {
      entries.push({ name, shape: s.shape, offsetM: off, offsetV: off + s.m.byteLength, length: s.m.length });
      parts.push(s.m, s.v);
      off += s.m.byteLength + s.v.byteLength;
    }
    const bytes = concatFloat32(parts);
    put("optimizer.bin", bytes);
    const { beta1, beta2, eps, weightDecay } = input.optimizer.options;
    const optFile: OptimizerFile = {
      format: CHECKPOINT_FORMAT,
      kind: "adamw",
      step: state.step,
      options: { beta1, beta2, eps, weightDecay },
      entries,
      bytes: bytes.byteLength,
      sha256: sha256(bytes),
    };
    put("optimizer.json", JSON.stringify(optFile, null, 2) + "\n");
  }

  const stateFile: StateFile = {
    step: input.step,
    ...(input.rngState !== undefined ? { rngState: input.rngState } : {}),
    ...(input.extra !== undefined ? { extra: input.extra } : {}),
    savedAt: new Date().toISOString(),
  };
  put("state.json", JSON.stringify(stateFile, null, 2) + "\n");

  // Swap into place.
  const old = `${dir}.old-${process.pid}`;
  fs.rmSync(old, { recursive: true, force: true });
  const hadOld = fs.existsSync(dir);
  if (hadOld) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
  fsyncDir(path.dirname(dir));
  return dir;
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported on every platform; the renames are still atomic */
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

function readJson<T>(file: string): T {
  if (!fs.existsSync(file)) throw new CheckpointError(`${file}: missing`);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (e) {
    throw new CheckpointError(`${file}: unreadable JSON (${(e as Error).message}); the checkpoint is corrupt`);
  }
}

function readVerified(file: string, bytes: number, sha: string): Uint8Array {
  if (!fs.existsSync(file)) throw new CheckpointError(`${file}: missing`);
  const buf = fs.readFileSync(file);
  if (buf.byteLength !== bytes) {
    throw new CheckpointError(`${file}: ${buf.byteLength} bytes, expected ${bytes} (truncated or wrong file)`);
  }
  const got = sha256(buf);
  if (got !== sha)
    throw new CheckpointError(
      `${file}: sha256 ${got.slice(0, 12)}... does not match ${sha.slice(0, 12)}... recorded in the metadata; the file is corrupt`,
    );
  // Copy into a fresh, 4-byte aligned buffer for the Float32Array views.
  return new Uint8Array(buf);
}

function f32(bytes: Uint8Array, offset: number, byteLength: number): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + byteLength));
}

/** Keys whose values differ between two flat configs, as `key a (checkpoint) vs b (expected)`. */
export function configDiff(saved: Record<string, unknown>, expected: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(expected)])].sort();
  const out: string[] = [];
  for (const k of keys) {
    const a = JSON.stringify(saved[k]),
      b = JSON.stringify(expected[k]);
    if (a !== b) out.push(`${k} ${a ?? "(absent)"} (checkpoint) vs ${b ?? "(absent)"} (expected)`);
  }
  return out;
}

export interface LoadOptions {
  /** Refuse the checkpoint unless its model config equals this one. */
  expectConfig?: object;
  /** Refuse the checkpoint unless its parameter names and shapes equal these. */
  expectParams?: Map<string, { shape: readonly number[] }>;
}

/**
 * Read and verify a checkpoint directory: every file present, sizes and sha256 as recorded,
 * optionally the model config and parameter shapes as expected. Throws CheckpointError naming
 * the file and what differs.
 */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): LoadedCheckpoint {
  if (!fs.existsSync(dir)) {
    // A crash between "rename old aside" and "rename new into place" leaves only the old copy.
    const parent = path.dirname(dir),
      base = path.basename(dir) + ".old-";
    const aside = fs.existsSync(parent)
      ? fs
          .readdirSync(parent)
          .filter((f) => f.startsWith(base))
          .sort()
      : [];
    if (aside.length > 0) return loadCheckpoint(path.join(parent, aside[aside.length - 1]!), opts);
    throw new CheckpointError(`${dir}: no such checkpoint directory`);
  }
  const modelPath = path.join(dir, "model.json");
  const model = readJson<ModelFile>(modelPath);
  if (model.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`${modelPath}: format ${JSON.stringify(model.format)}, expected ${CHECKPOINT_FORMAT}`);

  if (opts.expectConfig) {
    const diff = configDiff(model.config, opts.expectConfig as Record<string, unknown>);
    if (diff.length) throw new CheckpointError(`${modelPath}: model config differs: ${diff.join("; ")}`);
  }
  if (opts.expectParams) {
    const problems: string[] = [];
    const saved = new Map(model.params.map((p) => [p.name, p]));
    for (const [name, p] of opts.expectParams) {
      const s = saved.get(name);
      if (!s) problems.push(`${name} missing from the checkpoint`);
      else if (s.shape.join(",") !== p.shape.join(","))
        problems.push(`${name} shape [${s.shape}] (checkpoint) vs [${p.shape}] (model)`);
    }
    for (const name of saved.keys()) if (!opts.expectParams.has(name)) problems.push(`${name} not in the model`);
    if (problems.length) throw new CheckpointError(`${modelPath}: parameters differ: ${problems.join("; ")}`);
  }

  const wbytes = readVerified(path.join(dir, "weights.bin"), model.weightsBytes, model.weightsSha256);
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const p of model.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (p.byteLength !== n * 4 || p.offset + p.byteLength > wbytes.byteLength) {
      throw new CheckpointError(`${modelPath}: entry ${p.name} has inconsistent offset/size`);
    }
    weights.set(p.name, { shape: p.shape, data: f32(wbytes, p.offset, p.byteLength) });
  }

  let optimizer: AdamWState | undefined;
  const optPath = path.join(dir, "optimizer.json");
  if (fs.existsSync(optPath)) {
    const meta = readJson<OptimizerFile>(optPath);
    const obytes = readVerified(path.join(dir, "optimizer.bin"), meta.bytes, meta.sha256);
    const moments = new Map<string, MomentState>();
    for (const e of meta.entries) {
      moments.set(e.name, {
        shape: e.shape,
        m: f32(obytes, e.offsetM, e.length * 4),
        v: f32(obytes, e.offsetV, e.length * 4),
      });
    }
    optimizer = { step: meta.step, moments };
  }

  const state = readJson<StateFile>(path.join(dir, "state.json"));
  if (typeof state.step !== "number") throw new CheckpointError(`${path.join(dir, "state.json")}: no step`);
  return {
    dir,
    model,
    weights,
    ...(optimizer ? { optimizer } : {}),
    step: state.step,
    ...(state.rngState !== undefined ? { rngState: state.rngState } : {}),
    extra: state.extra ?? {},
  };
}

/**
 * Copy a loaded checkpoint into a model (and optimizer). Checks names and shapes against the
 * model first, so nothing is half-restored.
 */
export function restoreCheckpoint(
  ckpt: LoadedCheckpoint,
  model: CheckpointableModel,
  optimizer?: CheckpointableOptimizer,
): void {
  const problems: string[] = [];
  for (const [name, v] of model.params) {
    const w = ckpt.weights.get(name);
    if (!w) problems.push(`${name} missing from the checkpoint`);
    else if (w.shape.join(",") !== v.shape.join(","))
      problems.push(`${name} shape [${w.shape}] (checkpoint) vs [${v.shape}] (model)`);
  }
  for (const name of ckpt.weights.keys()) if (!model.params.has(name)) problems.push(`${name} not in the model`);
  if (problems.length)
    throw new CheckpointError(`${path.join(ckpt.dir, "model.json")}: parameters differ: ${problems.join("; ")}`);
  if (optimizer && !ckpt.optimizer)
    throw new CheckpointError(`${ckpt.dir}: no optimizer state (optimizer.json) to restore`);
  for (const [name, v] of model.params) {
    const w = ckpt.weights.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, "float32")));
  }
  if (optimizer && ckpt.optimizer) optimizer.setState(ckpt.optimizer);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints inside a run folder

/** `checkpoints/step-0000120` for step 120. */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(7, "0")}`;
}

/**
 * Save `checkpoints/step-N/` and then point `checkpoints/latest` at it; keep the newest
 * `keepLast` step directories (0 keeps all). Returns the checkpoint directory.
 */
export function saveRunCheckpoint(
  checkpointsDir: string,
  input: CheckpointInput,
  opts: SaveOptions & { keepLast?: number } = {},
): string {
  fs.mkdirSync(checkpointsDir, { recursive: true });
  const name = checkpointName(input.step);
  const dir = saveCheckpoint(path.join(checkpointsDir, name), input, opts);
  writeFileAtomic(path.join(checkpointsDir, "latest"), name + "\n");
  const keep = opts.keepLast ?? 0;
  if (keep > 0) {
    const steps = fs
      .readdirSync(checkpointsDir)
      .filter((f) => /^step-\d+$/.test(f))
      .sort();
    for (const f of steps.slice(0, Math.max(0, steps.length - keep))) {
      if (f !== name) fs.rmSync(path.join(checkpointsDir, f), { recursive: true, force: true });
    }
  }
  return dir;
}

/** The directory `checkpoints/latest` points to, or null when there is none. */
export function latestCheckpoint(checkpointsDir: string): string | null {
  const pointer = path.join(checkpointsDir, "latest");
  if (!fs.existsSync(pointer)) return null;
  const name = fs.readFileSync(pointer, "utf8").trim();
  if (!/^step-\d+$/.test(name))
    throw new CheckpointError(`${pointer}: does not name a checkpoint (${JSON.stringify(name)})`);
  return path.join(checkpointsDir, name);
}

/** A checkpoint directory (model.json), a `checkpoints/` folder (its `latest`) or a run folder (`<run>/checkpoints/latest`). */
export function resolveCheckpointDir(dir: string): string {
  if (fs.existsSync(path.join(dir, "model.json"))) return dir;
  for (const ckDir of [dir, path.join(dir, "checkpoints")]) {
    if (fs.existsSync(path.join(ckDir, "latest"))) return latestCheckpoint(ckDir)!;
  }
  throw new Error(
    `${dir}: not a checkpoint (no model.json), a checkpoints folder or a run folder (no checkpoints/latest)`,
  );
}
