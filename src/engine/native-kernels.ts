/**
 * The native kernel set for the wasm backend (BCR_KERNELS=native): matrix products on OpenBLAS
 * (BatchMatMul, and _FusedMatMul with a linear activation), and causal self-attention, LayerNorm
 * and GELU, forward and backward, in C, every one reading and writing the wasm heap in place;
 * and for sampling, a whole cached decoding step (every layer, one token per sequence, to the
 * logits) as one C call on a buffer of its own that holds a preallocated KV cache
 * (nativeDecodeStep below, src/model/native-decode.ts), bit-identical to the same step run
 * kernel by kernel.
 *
 * Why: the wasm backend runs XNNPACK on one thread with 128-bit SIMD (about 30 GFLOP/s here),
 * while the same machine's OpenBLAS runs about 140 GFLOP/s per core with AVX-512, and the rest
 * of a step is many small elementwise kernels. The operands already live in the wasm heap (an
 * ArrayBuffer), so a small Node-API addon (native/kernels.c, built by scripts/build-native.mjs
 * from scripts/setup.mjs) hands C pointers into that heap: no copies. Everything else stays on
 * wasm.
 *
 * The default wherever it loads (BCR_KERNELS=auto, src/engine/backend.ts; `enableNativeKernels()`
 * by hand). Results differ from XNNPACK's in the last digits, so the kernel set is part of the
 * stage hashes; data-parallel workers and RL worker processes are told the parent's set.
 *
 * The training step's glue also runs here, without changing any bit (setFusedTraining turns it
 * off to prove it): the embedding lookups by host ids, AdamW and its clipping norm in place, and
 * Identity without the copy. Slice and SplitV copy inside the heap (src/engine/heap-slice.ts).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { sliceInHeap, splitVInHeap } from "./heap-slice.js";
import { at, heapOf, type WasmBackend } from "./wasm-heap.js";
import { alignRuns, countRows, paddedRuns, realRowsFor, runRows as rowsIn, type Runs } from "./real-rows.js";

interface NativeAddon {
  load(libraryPath: string): string;
  setThreads(n: number): void;
  blasInfo(): BlasInfo;
  gemm(
    heap: ArrayBuffer,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    aOffset: number,
    aStride: number,
    bOffset: number,
    bStride: number,
    cOffset: number,
    cStride: number,
    beta: number,
  ): void;
  attention(
    heap: ArrayBuffer,
    qkvOffset: number,
    outOffset: number,
    B: number,
    T: number,
    H: number,
    hd: number,
    pads: Int32Array | null,
  ): void;
  attentionGrad(
    heap: ArrayBuffer,
    qkvOffset: number,
    dyOffset: number,
    outOffset: number,
    B: number,
    T: number,
    H: number,
    hd: number,
    pads: Int32Array | null,
  ): void;
  cachedAttention(
    heap: ArrayBuffer,
    q: number,
    k1: number,
    v1: number,
    n1: number,
    k2: number,
    v2: number,
    n2: number,
    bias: number,
    out: number,
    B: number,
    H: number,
    hd: number,
  ): void;
  layerNorm(heap: ArrayBuffer, x: number, w: number, b: number, y: number, R: number, C: number): void;
  layerNormGrad(
    heap: ArrayBuffer,
    x: number,
    w: number,
    dy: number,
    dx: number,
    dw: number,
    db: number,
    R: number,
    C: number,
  ): void;
  /** Absent from addons built before issue 31's vector expf and causal blocks (an old build to compare). */
  setVectorExp?(on: number): boolean;
  expfAgreement?(lo: number, hi: number, stride: number): number;
  setAttentionBlocks?(rows: number): number;
  attentionBlocksAgree?(T: number, H: number, hd: number): boolean;
  gelu(heap: ArrayBuffer, x: number, y: number, n: number): void;
  geluGrad(heap: ArrayBuffer, x: number, dy: number, dx: number, n: number): void;
  lookupRows(heap: ArrayBuffer, table: number, R: number, C: number, ids: Int32Array, out: number): void;
  lookupRowsGrad(heap: ArrayBuffer, dy: number, ids: Int32Array, out: number, R: number, C: number): void;
  sumSquares(heap: ArrayBuffer, x: number, n: number): number;
  adamw(
    heap: ArrayBuffer,
    p: number,
    m: number,
    v: number,
    g: number,
    n: number,
    decay: number,
    coefs: Float32Array,
  ): void;
  decodeStep(heap: ArrayBuffer, plan: DecodePlan, pads: Int32Array, scale: number, neg: number): void;
}

/**
 * The BLAS library the addon opened, as the library itself reports it (the addon's blasInfo();
 * null where the library lacks the symbol). Recorded in `bcr info` and each run's backend.json;
 * not part of any stage hash: the kernel set (native or wasm) is, and the arithmetic fingerprint
 * (src/model/arithmetic-fingerprint.ts), which measures what the core name only suggests.
 */
export interface BlasInfo {
  /** The path load() was given (BCR_BLAS_LIB, else the first of LIBRARY_CANDIDATES that opened). */
  requested: string;
  /** The file the dynamic loader opened (dladdr of cblas_sgemm). */
  path: string | null;
  /** That file with symlinks (Debian's alternatives) followed: its name carries the version. */
  realPath: string | null;
  /** openblas_get_config(): version and build options, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... MAX_THREADS=64". */
  config: string | null;
  /** openblas_get_corename(): the core kernels in use (OPENBLAS_CORETYPE overrides the detection). */
  corename: string | null;
  /** openblas_get_num_threads(): threads each call may use now. */
  threads: number | null;
  /** openblas_get_parallel(): how the library threads. */
  parallel: "sequential" | "pthreads" | "openmp" | null;
  /** The OPENBLAS_CORETYPE environment variable, or null when unset. */
  coretypeEnv: string | null;
}

export interface NativeKernelsInfo {
  /** Absolute path of the OpenBLAS shared library in use. */
  library: string;
  /** OpenBLAS's own build description (openblas_get_config). */
  config: string;
  /** Threads each cblas_sgemm call may use. */
  threads: number;
  /** The library as it reports itself: resolved file, version, core type, threads. */
  blas: BlasInfo;
}

/**
 * Where scripts/build-native.mjs writes the addon (ignored by git: built per machine).
 * BCR_NATIVE_ADDON points at another build instead: the sanitizer build
 * (BCR_NATIVE_SANITIZE=1 node scripts/build-native.mjs, bench/README.md) or an old one to compare.
 */
export const ADDON_PATH = process.env.BCR_NATIVE_ADDON?.trim()
  ? path.resolve(process.env.BCR_NATIVE_ADDON.trim())
  : path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../native/build/kernels.node");

/** Tried in order when BCR_BLAS_LIB is not set: Debian's libopenblas0-pthread, then the loader's search. */
const LIBRARY_CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "libopenblas.so.0",
];

let addon: NativeAddon | null = null;
let enabled: NativeKernelsInfo | null = null;

function loadAddon(): { addon: NativeAddon; library: string; config: string } {
  if (!existsSync(ADDON_PATH)) {
    throw new Error(`${ADDON_PATH} is not built: run \`node scripts/build-native.mjs\` (needs gcc)`);
  }
  const a = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  if (typeof a.blasInfo !== "function") {
    throw new Error(`${ADDON_PATH} is out of date (no blasInfo): run \`node scripts/build-native.mjs --force\``);
  }
  const wanted = process.env.BCR_BLAS_LIB?.trim();
  const candidates = wanted ? [wanted] : LIBRARY_CANDIDATES;
  const failures: string[] = [];
  for (const lib of candidates) {
    try {
      return { addon: a, library: lib, config: a.load(lib) };
    } catch (e) {
      failures.push(`${lib}: ${(e as Error).message}`);
    }
  }
  throw new Error(
    `no OpenBLAS library could be opened (${failures.join("; ")}); install libopenblas0-pthread or set BCR_BLAS_LIB`,
  );
}

/**
 * Whether matmul's transposeA/transposeB flags are as fast as a plain product. On XNNPACK
 * they are not (the model and gradients build transposed operands explicitly instead); on
 * OpenBLAS a transposed operand is only a different argument to sgemm, so the explicit
 * transposes are pure cost there.
 */
export function matMulFlagsAreFast(): boolean {
  return enabled !== null;
}

/** What enableNativeKernels set up, or null when matrix products run on XNNPACK. */
export function nativeKernelsInfo(): NativeKernelsInfo | null {
  return enabled;
}

/**
 * Makes the wasm backend's BatchMatMul and _FusedMatMul run on OpenBLAS and registers the
 * kernel set's own kernels (attention, LayerNorm, GELU, the cached step, the whole decoding step). Call after the wasm
 * backend is registered; calling again only changes the thread count. Throws (and changes
 * nothing) when the addon or the library is missing.
 */
export function enableNativeKernels(options: { threads?: number } = {}): NativeKernelsInfo {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`BLAS threads must be a positive integer, got ${threads}`);
  if (!enabled) {
    const loaded = loadAddon();
    addon = loaded.addon;
    override(tf.BatchMatMul, batchMatMul);
    override(tf._FusedMatMul, fusedMatMul);
    override(tf.Identity, sharedIdentity);
    override(tf.Slice, (args) => sliceInHeap(args, originals.get(tf.Slice)!));
    override(tf.SplitV, (args) => splitVInHeap(args, originals.get(tf.SplitV)!) as unknown as tf.TensorInfo);
    for (const [kernelName, kernelFunc] of OWN_KERNELS)
      tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
    enabled = { library: loaded.library, config: loaded.config, threads, blas: loaded.addon.blasInfo() };
    if (process.env.BCR_VECTOR_EXP?.trim() === "0") addon.setVectorExp?.(0);
    if (process.env.BCR_ATTENTION_BLOCKS?.trim() === "0") addon.setAttentionBlocks?.(0);
  }
  addon!.setThreads(threads);
  enabled.threads = threads;
  enabled.blas = addon!.blasInfo();
  return enabled;
}

/**
 * Whether GELU, its gradient and the attention softmaxes take expf eight at a time (on: the
 * default where the addon's check passed; BCR_VECTOR_EXP=0 starts it off). The vector expf gives
 * glibc's bits (native/kernels.c, vexp4), so either way every result is the same; off is for
 * timing both. Returns whether it is in use now (false where the CPU lacks AVX2 and FMA, or the
 * check found a difference, or the addon predates it).
 */
export function setVectorExp(on: boolean): boolean {
  return enabledAddon("setVectorExp").setVectorExp?.(on ? 1 : 0) ?? false;
}

/**
 * How many floats x with bit patterns in [lo, hi) (every stride-th, |x| < 88) get other bits
 * from the vector expf than from glibc's expf: 0 is the claim. (0, 2 ** 32, 1) is every float,
 * about 15 s.
 */
export function expfAgreement(lo: number, hi: number, stride: number): number {
  const f = enabledAddon("expfAgreement").expfAgreement;
  if (!f) throw new Error("expfAgreement: the addon predates the vector expf (node scripts/build-native.mjs --force)");
  return f(lo, hi, stride);
}

/**
 * The causal attention's block of query rows (0: always the whole T x T square; BCR_ATTENTION_BLOCKS=0
 * starts it at 0). Blocks are used at a T only where the addon's check at that T gives the whole
 * square's bits. Returns the previous value.
 */
export function setAttentionBlocks(rows: number): number {
  if (!Number.isInteger(rows) || rows < 0 || rows > 4096)
    throw new Error(`setAttentionBlocks: rows must be an integer in [0, 4096], got ${rows}`);
  return enabledAddon("setAttentionBlocks").setAttentionBlocks?.(rows) ?? 0;
}

/** Whether attention at this T (H heads of hd) runs in causal blocks: the addon's check at that shape. */
export function attentionBlocksAgree(T: number, H: number, hd: number): boolean {
  return enabledAddon("attentionBlocksAgree").attentionBlocksAgree?.(T, H, hd) ?? false;
}

/** Puts XNNPACK's kernels back (tests and the bench compare both engines in one process). */
export function disableNativeKernels(): void {
  if (!enabled) return;
  for (const [name, kernelFunc] of originals) {
    const current = tf.getKernel(name, "wasm")!;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...current, kernelFunc });
  }
  originals.clear();
  for (const [kernelName] of OWN_KERNELS) tf.unregisterKernel(kernelName, "wasm");
  enabled = null;
}

const originals = new Map<string, tf.KernelFunc>();

/** Replaces the wasm kernel, keeping the original for the cases this module hands back to it. */
function override(name: string, kernelFunc: tf.KernelFunc): void {
  const original = tf.getKernel(name, "wasm");
  if (!original) throw new Error(`the wasm backend has no ${name} kernel: is @tensorflow/tfjs-backend-wasm loaded?`);
  originals.set(name, original.kernelFunc);
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ ...original, kernelFunc });
}

/** Shapes of one product: a [.., m, k] (or transposed) times b [.., k, n]. */
interface Plan {
  m: number;
  n: number;
  k: number;
  batchA: number;
  batchB: number;
  outShape: number[];
}

function plan(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): Plan | null {
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb || m === 0 || n === 0 || k === 0) return null; // the original kernel reports or handles it
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = tf.util.sizeFromShape(outer);
  // One operand per output batch, or one shared by all; other broadcasts go to the original.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  return { m, n, k, batchA, batchB, outShape: [...outer, m, n] };
}

function run(
  backend: WasmBackend,
  p: Plan,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  out: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  beta: number,
): void {
  const batch = tf.util.sizeFromShape(p.outShape.slice(0, -2));
  addon!.gemm(
    heapOf(backend),
    batch,
    p.m,
    p.n,
    p.k,
    transposeA ? 1 : 0,
    transposeB ? 1 : 0,
    at(backend, a),
    p.batchA === 1 ? 0 : p.m * p.k,
    at(backend, b),
    p.batchB === 1 ? 0 : p.k * p.n,
    at(backend, out),
    p.m * p.n,
    beta,
  );
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

// ---- products over the real rows only (src/engine/real-rows.ts) ----

/**
 * The runs of rows a product computes when its rows are the current batch's token rows, widened
 * to the library's row tiles; null when they are not (or the padding is not skipped, or no tile
 * reproduces the full product): then every row is computed.
 */
function realRunsOf(p: Plan, transposeA: boolean, transposeB: boolean): Runs | null {
  // One product (tfjs hands 2-D products to the kernels as [1, m, n]).
  if (transposeA || tf.util.sizeFromShape(p.outShape.slice(0, -2)) !== 1) return null;
  const runs = realRowsFor(p.m);
  if (!runs) return null;
  const tile = rowTile(p.n, p.k, transposeB);
  return tile > 0 ? alignRuns(runs, tile, p.m) : null;
}

/**
 * run() on the given rows of a 2-D product only. C's other rows are zeroed first when beta is 0
 * (the padding's rows must hold finite values: the weight gradients multiply them by zero) or
 * kept when it is 1 (the bias already written there).
 */
function runOnRows(
  backend: WasmBackend,
  p: Plan,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  out: tf.TensorInfo,
  transposeB: boolean,
  beta: number,
  runs: Runs,
): void {
  const co = at(backend, out);
  if (beta === 0) zeroOutside(new Float32Array(heapOf(backend)), co, p.n, p.m, runs);
  const ao = at(backend, a),
    bo = at(backend, b);
  for (let i = 0; i < runs.length; i += 2) {
    const s = runs[i]!;
    const rows = runs[i + 1]! - s;
    addon!.gemm(
      heapOf(backend),
      1,
      rows,
      p.n,
      p.k,
      0,
      transposeB ? 1 : 0,
      ao + s * p.k,
      0,
      bo,
      0,
      co + s * p.n,
      0,
      beta,
    );
  }
  countRows(p.m, rowsIn(runs));
}

/** Zeroes the rows of an [M, n] matrix at `from` (floats) that lie outside the runs. */
function zeroOutside(heap: Float32Array, from: number, n: number, M: number, runs: Runs): void {
  let r = 0;
  for (let i = 0; i <= runs.length; i += 2) {
    const end = i < runs.length ? runs[i]! : M;
    if (end > r) heap.fill(0, from + r * n, from + end * n);
    if (i < runs.length) r = runs[i + 1]!;
  }
}

/**
 * The row tile of the library's products [M, k] x op(b) [k, n]: the smallest candidate t such
 * that computing only whole tiles of t rows (tiles counted from row 0) gives every computed row
 * the same bits as the full product. Measured once per shape, on random values in a buffer of its
 * own, because it is the library's kernel layout and not ours to assume (24 rows on OpenBLAS
 * 0.3.21's Haswell sgemm; any on its Sandybridge one); 0, never skip, when no candidate
 * reproduces the full product.
 */
function rowTile(n: number, k: number, transposeB: boolean): number {
  const key = `${n}x${k}${transposeB ? "t" : ""}`;
  let t = tiles.get(key);
  if (t === undefined) {
    t = measureRowTile(n, k, transposeB ? 1 : 0);
    tiles.set(key, t);
  }
  return t;
}

const tiles = new Map<string, number>();
const TILE_CANDIDATES = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192];

function measureRowTile(n: number, k: number, transB: number): number {
  // A padded batch of sequences of 250 positions with real lengths from 2 to 250: 2,000 rows,
  // more than OpenBLAS's row block (GEMM_P), so block edges are crossed too.
  const T = 250;
  const lengths = [250, 3, 137, 61, 249, 2, 190, 88];
  const M = T * lengths.length;
  const heap = new ArrayBuffer(4 * (M * k + k * n + 2 * M * n));
  const f = new Float32Array(heap);
  let x = 12345;
  for (let i = 0; i < M * k + k * n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    f[i] = ((x >>> 8) / 8388608) * 2 - 1;
  }
  const bo = M * k;
  const full = bo + k * n;
  const part = full + M * n;
  const fullBits = new Uint32Array(heap, full * 4, M * n);
  const partBits = new Uint32Array(heap, part * 4, M * n);
  const real = paddedRuns(lengths, T);
  addon!.gemm(heap, 1, M, n, k, 0, transB, 0, 0, bo, 0, full, 0, 0);
  for (const tile of TILE_CANDIDATES) {
    const runs = alignRuns(real, tile, M);
    let same = true;
    for (let i = 0; i < runs.length && same; i += 2) {
      const s = runs[i]!;
      const e = runs[i + 1]!;
      addon!.gemm(heap, 1, e - s, n, k, 0, transB, s * k, 0, bo, 0, part + s * n, 0, 0);
      for (let j = s * n; j < e * n; j++)
        if (fullBits[j] !== partBits[j]) {
          same = false;
          break;
        }
    }
    if (same) return tile;
  }
  return 0;
}

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const p = plan(a, b, transposeA, transposeB);
  if (!p) return originals.get(tf.BatchMatMul)!(args) as tf.TensorInfo;
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput(p.outShape, "float32");
  const runs = realRunsOf(p, transposeA, transposeB);
  if (runs) runOnRows(backend, p, a, b, out, transposeB, 0, runs);
  else run(backend, p, a, b, out, transposeA, transposeB, 0);
  return out;
}

function fusedMatMul(args: KernelArgs): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { transposeA, transposeB, activation } = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
  };
  const p = plan(a!, b!, transposeA, transposeB);
  const linear = activation === undefined || activation === "linear";
  const biasOk = !bias || (bias.dtype === "float32" && tf.util.sizeFromShape(bias.shape) === p?.n);
  if (!p || !linear || preluActivationWeights || !biasOk) {
    return originals.get(tf._FusedMatMul)!(args) as tf.TensorInfo;
  }
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput(p.outShape, "float32");
  if (bias) {
    // C starts as the bias in every row; the product is then added to it (beta = 1).
    const heap = new Float32Array(heapOf(backend));
    const start = at(backend, out);
    const from = at(backend, bias);
    const row = heap.subarray(from, from + p.n);
    const rows = tf.util.sizeFromShape(p.outShape) / p.n;
    for (let r = 0; r < rows; r++) heap.set(row, start + r * p.n);
  }
  const runs = realRunsOf(p, transposeA, transposeB);
  if (runs) runOnRows(backend, p, a!, b!, out, transposeB, bias ? 1 : 0, runs);
  else run(backend, p, a!, b!, out, transposeA, transposeB, bias ? 1 : 0);
  return out;
}

// ---- Identity without the copy ----
//
// The tape keeps every input and output a kernel's gradient needs through Identity (tfjs-core's
// saveTensorsForBackwardMode), and the wasm backend's Identity copies the data: some 60 copies of
// activations per SFT step, the largest [B*T, 4C]. No kernel ever writes into its inputs (tensors
// are immutable; outputs come from makeOutput), so the copy can share the data and count one
// more reference, as the wasm Reshape and the cpu backend's Identity already do. The optimizer's
// in-place AdamW checks the count before it writes (nativeOptimizer). Off with the fused kernels.

function sharedIdentity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (!fusedOn || x.dtype === "string") return originals.get(tf.Identity)!(args) as tf.TensorInfo;
  (args.backend as unknown as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

// ---- causal self-attention as one native kernel ----
//
// On XNNPACK, attention runs as one 2-D problem per (sequence, head) with operands cut out and
// pasted back on the host (src/model/attention.ts). With the addon, the whole forward and
// backward pass run in C on the wasm heap: q, k and v are read in place from the c_attn output
// through sgemm's leading dimension, the [T, T] probabilities live in a scratch buffer and are
// recomputed in the backward pass instead of saved (native/kernels.c).

const ATTENTION = "BcrCausalAttention";
const ATTENTION_GRAD = "BcrCausalAttentionGrad";

interface AttentionAttrs {
  B: number;
  T: number;
  H: number;
  pads: number[] | null;
}

function attentionKernel(args: KernelArgs): tf.TensorInfo {
  const { qkv } = args.inputs as { qkv: tf.TensorInfo };
  const { B, T, H, pads } = args.attrs as unknown as AttentionAttrs;
  const C = qkv.shape[1]! / 3;
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput([B * T, C], "float32");
  addon!.attention(
    heapOf(backend),
    at(backend, qkv),
    at(backend, out),
    B,
    T,
    H,
    C / H,
    pads ? Int32Array.from(pads) : null,
  );
  return out;
}

function attentionGradKernel(args: KernelArgs): tf.TensorInfo {
  const { qkv, dy } = args.inputs as { qkv: tf.TensorInfo; dy: tf.TensorInfo };
  const { B, T, H, pads } = args.attrs as unknown as AttentionAttrs;
  const C = qkv.shape[1]! / 3;
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput([B * T, 3 * C], "float32");
  addon!.attentionGrad(
    heapOf(backend),
    at(backend, qkv),
    at(backend, dy),
    at(backend, out),
    B,
    T,
    H,
    C / H,
    pads ? Int32Array.from(pads) : null,
  );
  return out;
}

/**
 * qkv [B*T, 3C] -> causal softmax(q k^T / sqrt(hd)) v, heads merged: [B*T, C], differentiable,
 * with the same contract as causalSelfAttention in src/model/attention.ts (keyPads[b] hides
 * the first keyPads[b] key columns of sequence b). Only while enableNativeKernels is in effect.
 */
export function nativeCausalAttention(
  qkv: tf.Tensor2D,
  B: number,
  T: number,
  H: number,
  keyPads?: number[],
): tf.Tensor2D {
  requireEnabled("nativeCausalAttention");
  const C = qkv.shape[1] / 3;
  if (!Number.isInteger(C) || C % H !== 0 || qkv.shape[0] !== B * T) {
    throw new Error(`nativeCausalAttention: qkv ${qkv.shape} is not [B*T, 3*C] with C divisible by H=${H}`);
  }
  const attrs = { B, T, H, pads: keyPads?.some((p) => p > 0) ? keyPads : null };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([x]);
    return {
      value: tf.engine().runKernel(ATTENTION, { qkv: x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) =>
        tf.engine().runKernel(ATTENTION_GRAD, { qkv: saved!, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
  });
  return op(qkv) as tf.Tensor2D;
}

// ---- LayerNorm and GELU ----
//
// Each is about ten wasm elementwise kernels forward and as many backward (src/model/gpt.ts);
// here each direction is one pass in C. Only x (and w) are saved: the backward pass recomputes
// the row statistics and the sigmoid, which costs less than keeping copies.

const LAYER_NORM = "BcrLayerNorm";
const LAYER_NORM_GRAD = "BcrLayerNormGrad";
const GELU = "BcrGelu";
const GELU_GRAD = "BcrGeluGrad";

function layerNormKernel(args: KernelArgs): tf.TensorInfo {
  const { x, w, b } = args.inputs as Record<string, tf.TensorInfo>;
  const [R, C] = x!.shape as [number, number];
  const backend = args.backend as unknown as WasmBackend;
  const y = backend.makeOutput([R, C], "float32");
  addon!.layerNorm(heapOf(backend), at(backend, x!), at(backend, w!), at(backend, b!), at(backend, y), R, C);
  return y;
}

function layerNormGradKernel(args: KernelArgs): tf.TensorInfo[] {
  const { x, w, dy } = args.inputs as Record<string, tf.TensorInfo>;
  const [R, C] = x!.shape as [number, number];
  const backend = args.backend as unknown as WasmBackend;
  const dx = backend.makeOutput([R, C], "float32");
  const dw = backend.makeOutput([C], "float32");
  const db = backend.makeOutput([C], "float32");
  addon!.layerNormGrad(
    heapOf(backend),
    at(backend, x!),
    at(backend, w!),
    at(backend, dy!),
    at(backend, dx),
    at(backend, dw),
    at(backend, db),
    R,
    C,
  );
  return [dx, dw, db];
}

/**
 * The real rows of an elementwise kernel's [R, n] operand (the MLP's hidden layer) as element
 * runs, or null when its rows are not the current batch's token rows. Elementwise, a row's values
 * do not depend on the others, so the rows need no widening to tiles.
 */
function elementRuns(shape: readonly number[]): { runs: Runs; n: number; rows: number } | null {
  if (shape.length !== 2) return null;
  const runs = realRowsFor(shape[0]!);
  return runs ? { runs, n: shape[1]!, rows: shape[0]! } : null;
}

/** f(from, count) over the real rows' elements; every other element of `out` (floats) is zeroed. */
function onRealRows(
  backend: WasmBackend,
  out: number,
  r: { runs: Runs; n: number; rows: number },
  f: (from: number, count: number) => void,
): void {
  zeroOutside(new Float32Array(heapOf(backend)), out, r.n, r.rows, r.runs);
  for (let i = 0; i < r.runs.length; i += 2) f(r.runs[i]! * r.n, (r.runs[i + 1]! - r.runs[i]!) * r.n);
  countRows(r.rows, rowsIn(r.runs));
}

function geluKernel(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as unknown as WasmBackend;
  const y = backend.makeOutput([...x.shape], "float32");
  const xo = at(backend, x),
    yo = at(backend, y);
  const real = elementRuns(x.shape);
  if (real) onRealRows(backend, yo, real, (s, n) => addon!.gelu(heapOf(backend), xo + s, yo + s, n));
  else addon!.gelu(heapOf(backend), xo, yo, tf.util.sizeFromShape(x.shape));
  return y;
}

function geluGradKernel(args: KernelArgs): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const backend = args.backend as unknown as WasmBackend;
  const dx = backend.makeOutput([...x.shape], "float32");
  const xo = at(backend, x),
    dyo = at(backend, dy),
    dxo = at(backend, dx);
  const real = elementRuns(x.shape);
  if (real) onRealRows(backend, dxo, real, (s, n) => addon!.geluGrad(heapOf(backend), xo + s, dyo + s, dxo + s, n));
  else addon!.geluGrad(heapOf(backend), xo, dyo, dxo, tf.util.sizeFromShape(x.shape));
  return dx;
}

// ---- one decoding step against the KV cache ----
//
// The tfjs cached step is about ten kernels per layer (scores per cache block, concat, bias,
// softmax, slices, products, add); here it is one, reading the cache blocks in place.

const CACHED_ATTENTION = "BcrCachedAttention";

function cachedAttentionKernel(args: KernelArgs): tf.TensorInfo {
  const { q, k1, v1, k2, v2, bias } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { B, H } = args.attrs as unknown as { B: number; H: number };
  const [BH, , hd] = q!.shape as [number, number, number];
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput([BH, 1, hd], "float32");
  addon!.cachedAttention(
    heapOf(backend),
    at(backend, q!),
    at(backend, k1!),
    at(backend, v1!),
    k1!.shape[1]!,
    k2 ? at(backend, k2) : 0,
    v2 ? at(backend, v2) : 0,
    k2 ? k2.shape[1]! : 0,
    at(backend, bias!),
    at(backend, out),
    B,
    H,
    hd,
  );
  return out;
}

/**
 * softmax(q . keys + bias) . values over the cache's old block and (when present) its recent
 * block: q [B*H, 1, hd] already scaled by 1/sqrt(hd), blocks [B*H, n, hd], bias holding B * Tk
 * values (per sequence, Tk = all cached positions) -> [B*H, 1, hd]. Generation only: it has no
 * gradient.
 */
export function nativeCachedAttention(
  q: tf.Tensor3D,
  blocks: readonly (readonly [tf.Tensor3D, tf.Tensor3D])[],
  bias: tf.Tensor,
  B: number,
  H: number,
): tf.Tensor3D {
  requireEnabled("nativeCachedAttention");
  const [first, second] = blocks;
  if (!first || blocks.length > 2) throw new Error(`nativeCachedAttention: 1 or 2 cache blocks, got ${blocks.length}`);
  const Tk = first[0].shape[1] + (second ? second[0].shape[1] : 0);
  if (q.shape[0] !== B * H || bias.size !== B * Tk) {
    throw new Error(`nativeCachedAttention: q ${q.shape} and bias ${bias.shape} do not fit B=${B}, H=${H}, Tk=${Tk}`);
  }
  const inputs: tf.NamedTensorMap = { q, k1: first[0], v1: first[1], bias };
  if (second) Object.assign(inputs, { k2: second[0], v2: second[1] });
  return tf.engine().runKernel(CACHED_ATTENTION, inputs, { B, H }) as tf.Tensor3D;
}

// ---- a whole cached decoding step ----
//
// The cached step above still runs about 40 tfjs kernels per layer-step around it (LayerNorm,
// products, split, heads, scaling, residual adds) and copies the cache blocks as they grow. Here
// the whole step, every layer to the logits, is one C call on a buffer the decoder owns
// (src/model/native-decode.ts), with the KV cache preallocated in it: native/kernels.c's
// decodeStep, which runs the same C helpers with the same BLAS calls as the kernels it replaces,
// so its logits are bit-identical to theirs. It runs as a registered kernel (no inputs, the
// logits as its output) so that tf.profile, and so `bcr profile`, time it as a kernel.

/**
 * Where decodeStep finds everything, as float offsets into the decoder's buffer, and the step's
 * sizes: B rows now (of `rows` the cache holds), the cache's old block n1 and recent block n2
 * (this step's key and value go at position n1 + n2 - 1). native/kernels.c's decodeStep says
 * what each region holds.
 */
export interface DecodePlan {
  B: number;
  C: number;
  H: number;
  V: number;
  rows: number;
  maxLen: number;
  n1: number;
  n2: number;
  x: number;
  scratch: number;
  logits: number;
  wteT: number;
  kCache: number;
  vCache: number;
  lnfW: number;
  lnfB: number;
  layers: DecodeLayer[];
}

/** One block's weight offsets in the decoder's buffer (Linear weights [in, out], as gpt.ts stores them). */
export interface DecodeLayer {
  ln1W: number;
  ln1B: number;
  attnW: number;
  attnB: number;
  attnProjW: number;
  attnProjB: number;
  ln2W: number;
  ln2B: number;
  fcW: number;
  fcB: number;
  mlpProjW: number;
  mlpProjB: number;
}

/** Floats of scratch decodeStep needs per row: LayerNorm out, qkv, attention out, projection, MLP hidden, GELU. */
export const DECODE_SCRATCH_PER_ROW_C = 14;

const DECODE_STEP = "BcrDecodeStep";

interface DecodeAttrs {
  work: ArrayBuffer;
  plan: DecodePlan;
  pads: Int32Array;
  scale: number;
  neg: number;
}

function decodeStepKernel(args: KernelArgs): tf.TensorInfo {
  const { work, plan, pads, scale, neg } = args.attrs as unknown as DecodeAttrs;
  addon!.decodeStep(work, plan, pads, scale, neg);
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput([plan.B, plan.V], "float32");
  const logits = new Float32Array(work, plan.logits * 4, plan.B * plan.V);
  new Float32Array(heapOf(backend)).set(logits, at(backend, out));
  return out;
}

/**
 * One cached decoding step of a whole model on `work` (src/model/native-decode.ts lays it out):
 * the embeddings of the new tokens at plan.x in, the logits [B, V] out (also left at
 * plan.logits). pads: each row's left padding (B entries); scale: float32 1/sqrt(hd); neg: the
 * additive mask value. Generation only: it has no gradient.
 */
export function nativeDecodeStep(
  work: ArrayBuffer,
  plan: DecodePlan,
  pads: Int32Array,
  scale: number,
  neg: number,
): tf.Tensor2D {
  requireEnabled("nativeDecodeStep");
  const attrs: DecodeAttrs = { work, plan, pads, scale, neg };
  return tf.engine().runKernel(DECODE_STEP, {}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

// ---- embedding rows by host ids (src/model/lookup.ts) ----
//
// The position and section embeddings look rows up by ids computed on the host; lookup.ts copies
// the rows in JavaScript (reading the table and, backward, dy out of the heap and the result back
// in). Here both directions run in C on the heap, the gradient adding in the same order.

const LOOKUP_ROWS = "BcrLookupRows";
const LOOKUP_ROWS_GRAD = "BcrLookupRowsGrad";

function lookupRowsKernel(args: KernelArgs): tf.TensorInfo {
  const { table } = args.inputs as { table: tf.TensorInfo };
  const { ids } = args.attrs as unknown as { ids: Int32Array };
  const [R, C] = table.shape as [number, number];
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput([ids.length, C], "float32");
  addon!.lookupRows(heapOf(backend), at(backend, table), R, C, ids, at(backend, out));
  return out;
}

function lookupRowsGradKernel(args: KernelArgs): tf.TensorInfo {
  const { dy } = args.inputs as { dy: tf.TensorInfo };
  const { ids, R } = args.attrs as unknown as { ids: Int32Array; R: number };
  const C = dy.shape[1]!;
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput([R, C], "float32");
  addon!.lookupRowsGrad(heapOf(backend), at(backend, dy), ids, at(backend, out), R, C);
  return out;
}

/**
 * table [R, C], ids (each in 0..R-1, checked by the caller) -> [ids.length, C], row i =
 * table[ids[i]]; differentiable, the gradient a scatter-add in index order (lookup.ts's).
 */
export function nativeLookupRows(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  requireEnabled("nativeLookupRows");
  const R = table.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf
      .engine()
      .runKernel(LOOKUP_ROWS, { table: args[0] as tf.Tensor }, { ids } as unknown as tf.NamedAttrMap) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor) =>
      tf.engine().runKernel(LOOKUP_ROWS_GRAD, { dy }, { ids, R } as unknown as tf.NamedAttrMap) as tf.Tensor,
  }));
  return op(table) as tf.Tensor2D;
}

// ---- the optimizer's kernels (src/train/optim.ts) ----
//
// AdamW is about 13 wasm kernels per parameter tensor and the clipping norm 2 more (square, sum),
// on the reproduction's 29 tensors some 480 kernels a step whose dispatch costs more than their
// arithmetic. Here each is one pass in C, in place on the heap, with the same float32 operations
// in the same order (native/kernels.c), so the weights come out the same bits
// (tests/train/optim.test.ts compares both paths step by step).

let fusedOn = true;

/**
 * Switches the fused training kernels (the native AdamW and clipping norm, and the data-parallel
 * shortcuts in src/train/data-parallel.ts) off and on again: off, the tfjs ops they replace run
 * instead, with bit for bit the same results. For the tests that prove it and for timing both.
 */
export function setFusedTraining(on: boolean): void {
  fusedOn = on;
}

/** Whether the fused training kernels run: the native set is loaded and setFusedTraining has not turned them off. */
export function fusedTraining(): boolean {
  return fusedOn && enabled !== null;
}

/** The native optimizer kernels on tensors in the wasm heap (see nativeOptimizer). */
export interface NativeOptimizer {
  /**
   * sum(x^2) accumulated in float32 in index order, as tf.sum(tf.square(x)) gives it on the wasm
   * backend; null when x is not a float32 tensor in the wasm heap.
   */
  sumSquares(x: tf.Tensor): number | null;
  /**
   * One AdamW step of parameter p (moments m, v) from gradient g, in place (native/kernels.c:
   * coefs as there). Returns false, having done nothing, when it may not write in place: p, m or
   * v shares its data with another tensor (a variable's initial value, a reshape), g is one of
   * them, or anything is not float32 in the wasm heap. The caller then runs the tfjs ops.
   */
  adamw(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, decay: boolean, coefs: Float32Array): boolean;
}

/** The wasm backend when the native set is on and its kernels are to run, else null. */
function wasmBackend(): WasmBackend | null {
  if (!fusedTraining() || tf.getBackend() !== "wasm") return null;
  return tf.backend() as unknown as WasmBackend;
}

/** A float32 tensor's offset in the heap (floats), or null when it is not held there. */
function heapOffset(backend: WasmBackend, t: tf.Tensor): number | null {
  if (t.dtype !== "float32" || t.isDisposed || !backend.dataIdMap.has(t.dataId)) return null;
  return at(backend, t);
}

const nativeOptimizerKernels: NativeOptimizer = {
  sumSquares(x) {
    const backend = wasmBackend();
    const xo = backend && heapOffset(backend, x);
    if (xo == null) return null;
    return addon!.sumSquares(heapOf(backend!), xo, x.size);
  },
  adamw(p, m, v, g, decay, coefs) {
    const backend = wasmBackend();
    if (!backend) return false;
    const own = [p, m, v];
    const offsets = [...own, g].map((t) => heapOffset(backend, t));
    if (offsets.some((o) => o == null) || own.some((t) => t.size !== g.size)) return false;
    // In place only where no other tensor sees the data, and g is not one of the three.
    if (own.some((t) => backend.refCount(t.dataId) !== 1 || t.dataId === g.dataId)) return false;
    const [po, mo, vo, go] = offsets as number[];
    addon!.adamw(heapOf(backend), po!, mo!, vo!, go!, g.size, decay ? 1 : 0, coefs);
    return true;
  },
};

/** The optimizer's native kernels, or null when they do not run (no native set, or turned off). */
export function nativeOptimizer(): NativeOptimizer | null {
  return wasmBackend() ? nativeOptimizerKernels : null;
}

// ---- tensor data in and out of the heap (the data-parallel shards, src/train/data-parallel.ts) ----

/** The wasm backend when it is the current one, whatever the kernel set. */
function currentWasm(): WasmBackend | null {
  return tf.getBackend() === "wasm" ? (tf.backend() as unknown as WasmBackend) : null;
}

/**
 * Copies float32 tensor t's values into dst from `offset`: on wasm straight out of the heap
 * (one copy; dataSync would make a second), elsewhere through dataSync.
 */
export function readInto(t: tf.Tensor, dst: Float32Array, offset: number): void {
  dst.set(heapView(t) ?? (t.dataSync() as Float32Array), offset);
}

/**
 * A view of float32 tensor t's values where they lie in the wasm heap (no copy), or null where
 * they do not (another backend, another dtype). Valid until the heap grows or t is disposed:
 * read it at once.
 */
export function heapView(t: tf.Tensor): Float32Array | null {
  const backend = currentWasm();
  const from = backend && heapOffset(backend, t);
  return from == null ? null : new Float32Array(heapOf(backend!), from * 4, t.size);
}

/**
 * Overwrites float32 tensor t's data with src in place, where the fused training kernels run and
 * no other tensor shares the data (see nativeOptimizer); false, having done nothing, otherwise
 * (the caller assigns a new tensor instead).
 */
export function writeInPlace(t: tf.Tensor, src: Float32Array): boolean {
  const backend = wasmBackend();
  const to = backend && heapOffset(backend, t);
  if (to == null || src.length !== t.size || backend!.refCount(t.dataId) !== 1) return false;
  new Float32Array(heapOf(backend!), to * 4, t.size).set(src);
  return true;
}

const OWN_KERNELS: [string, tf.KernelFunc][] = [
  [ATTENTION, attentionKernel],
  [CACHED_ATTENTION, cachedAttentionKernel],
  [DECODE_STEP, decodeStepKernel],
  [ATTENTION_GRAD, attentionGradKernel],
  [LAYER_NORM, layerNormKernel],
  [LAYER_NORM_GRAD, layerNormGradKernel as unknown as tf.KernelFunc],
  [GELU, geluKernel],
  [GELU_GRAD, geluGradKernel],
  [LOOKUP_ROWS, lookupRowsKernel],
  [LOOKUP_ROWS_GRAD, lookupRowsGradKernel],
];

function requireEnabled(what: string): void {
  if (!enabled) throw new Error(`${what} needs enableNativeKernels() first`);
}

/** The addon, for the exports that call it directly: after requireEnabled's check. */
function enabledAddon(what: string): NativeAddon {
  requireEnabled(what);
  return addon!;
}

const layerNormOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.engine().runKernel(LAYER_NORM, { x, w, b }) as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) =>
      tf.engine().runKernel(LAYER_NORM_GRAD, { x: xs!, w: ws!, dy }) as tf.Tensor[],
  };
});

/** LayerNorm over the last axis of x [R, C] (eps 1e-5, biased variance), as gpt.ts's; differentiable. */
export function nativeLayerNorm(x: tf.Tensor2D, w: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor2D {
  requireEnabled("nativeLayerNorm");
  if (x.shape.length !== 2 || w.size !== x.shape[1] || b.size !== x.shape[1]) {
    throw new Error(`nativeLayerNorm: x ${x.shape} with w ${w.shape} and b ${b.shape}: expected [R, C], [C], [C]`);
  }
  return layerNormOp(x, w, b) as tf.Tensor2D;
}

const geluOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.engine().runKernel(GELU, { x }) as tf.Tensor,
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.engine().runKernel(GELU_GRAD, { x: xs!, dy }) as tf.Tensor,
  };
});

/** GELU, tanh approximation, as gpt.ts's `gelu`; differentiable. */
export function nativeGelu(x: tf.Tensor): tf.Tensor {
  requireEnabled("nativeGelu");
  return geluOp(x);
}
