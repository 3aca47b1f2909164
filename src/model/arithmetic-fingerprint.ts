/**
 * The arithmetic fingerprint: 16 hex digits of sha256 over the float32 outputs of a fixed list of
 * computations, run on the backend and kernel set in use, covering what training and decoding
 * compute with: matrix products at the model's shapes, causal attention (forward and gradient),
 * the cached decoding step's attention, LayerNorm and GELU (forward and gradients).
 *
 * Why a fingerprint rather than a name: the kernel set's name does not say which bits it computes.
 * OpenBLAS (DYNAMIC_ARCH) picks its sgemm kernels by CPU type, and measured on one AMD EPYC with
 * OpenBLAS 0.3.21, OPENBLAS_CORETYPE=Haswell and Zen gave byte-identical products at every shape
 * here while Cooperlake differed at every one and SkylakeX at some; the C kernels call glibc's
 * expf, whose implementation glibc also picks by CPU. Two names can compute the same bits and one
 * name could compute others elsewhere, so what is compared (study replicates, the SFT stage hash)
 * is what the machine computes.
 *
 * It goes through the functions the model itself calls (gpt.ts's layerNorm, gelu and
 * cachedAttention, attention.ts's causalSelfAttention, tf.matMul as gpt.ts calls it), so the wasm set's tfjs paths
 * are fingerprinted as well as the native kernels. Inputs come from an integer generator (no
 * Math.log or Math.cos, whose last bits are the JS engine's business), exact in float32. Takes
 * well under a second on the native set; computed once per process and kernel set.
 */
import { createHash } from "node:crypto";
import { backendInfo, tf } from "../engine/backend.js";
import { matMulFlagsAreFast, nativeKernelsInfo } from "../engine/native-kernels.js";
import { causalSelfAttention, NEG } from "./attention.js";
import { cachedAttention, gelu, layerNorm } from "./gpt.js";

/** Hex digits of the fingerprint; short labels show the first LABEL_DIGITS. */
export const FINGERPRINT_DIGITS = 16;
export const LABEL_DIGITS = 8;

/**
 * [m, k] x [k, n] products the model computes (linears of the default and study models over a
 * batch, their weight gradients as transposed products, attention-sized ones), as
 * [m, k, n, transposeA, transposeB]. OpenBLAS chooses kernels (and small-matrix paths) by shape,
 * so several shapes are needed: SkylakeX differed from Haswell on some of these only.
 */
const PRODUCTS: readonly (readonly [number, number, number, boolean, boolean])[] = [
  [4096, 128, 384, false, false],
  [4096, 512, 128, false, false],
  [128, 4096, 384, true, false],
  [4096, 384, 128, false, true],
  [64, 128, 89, false, true],
  [8192, 128, 512, false, false],
  [512, 8192, 128, true, false],
];

/** Values in [-1, 1) on a 2^-23 grid from xorshift32: exact in float32 and the same in every JS engine. */
function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x >>> 8) / 8388608 - 1;
  }
  return out;
}

function tensor<R extends tf.Rank>(shape: number[], seed: number): tf.Tensor<R> {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  ) as unknown as tf.Tensor<R>;
}

/** The gradients of sum(f(xs) * dy) with respect to xs: f's backward pass fed dy exactly. */
function backward(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  return tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), dy)))(xs);
}

/** Every output of the fixed computations, in a fixed order. */
function outputs(): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  PRODUCTS.forEach(([m, k, n, ta, tb], i) => {
    const a = tensor(ta ? [k, m] : [m, k], 2 * i + 1);
    const b = tensor(tb ? [n, k] : [k, n], 2 * i + 2);
    // As the model multiplies: with transpose flags where they are fast (the native set), else
    // transposing first (XNNPACK's flagged path is a slow loop the model avoids: gpt.ts, gradients.ts).
    if (matMulFlagsAreFast()) out.push(tf.matMul(a, b, ta, tb));
    else out.push(tf.matMul(ta ? tf.transpose(a) : a, tb ? tf.transpose(b) : b));
  });
  // Training-shaped attention: 2 sequences of 64 tokens, 4 heads of 16, the second left-padded.
  const [B, T, H, hd] = [2, 64, 4, 16];
  const C = H * hd;
  const qkv = tensor<tf.Rank.R2>([B * T, 3 * C], 101);
  const attend = (x: tf.Tensor) => causalSelfAttention(x as tf.Tensor2D, B, T, H, [0, 3]);
  out.push(attend(qkv), ...backward(attend, [qkv], tensor([B * T, C], 102)));
  // A cached decoding step over an old block of 40 positions and a recent one of 5.
  const q = tf.mul(tensor<tf.Rank.R3>([B * H, 1, hd], 103), 1 / Math.sqrt(hd)) as tf.Tensor3D;
  const blocks = [
    [tensor<tf.Rank.R3>([B * H, 40, hd], 104), tensor<tf.Rank.R3>([B * H, 40, hd], 105)],
    [tensor<tf.Rank.R3>([B * H, 5, hd], 106), tensor<tf.Rank.R3>([B * H, 5, hd], 107)],
  ] as const;
  const bias = new Float32Array(B * 45);
  bias.fill(NEG, 45, 45 + 2); // the second sequence's first two keys are padding
  out.push(cachedAttention(q, blocks, tf.tensor4d(bias, [B, 1, 1, 45]), B, H));
  // LayerNorm and GELU at a linear's width, forward and backward.
  const x = tensor<tf.Rank.R2>([64, 128], 108);
  const w = tf.add(1, tf.mul(0.1, tensor([128], 109)));
  const b = tf.mul(0.1, tensor([128], 110));
  const norm = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => layerNorm(xx as tf.Tensor2D, ww, bb);
  out.push(norm(x, w, b), ...backward(norm, [x, w, b], tensor([64, 128], 111)));
  const u = tf.mul(3, tensor([64, 512], 112));
  out.push(gelu(u), ...backward(gelu, [u], tensor([64, 512], 113)));
  return out;
}

/** Whether `s` has the form of a fingerprint (FINGERPRINT_DIGITS lowercase hex digits). */
export function isFingerprint(s: string): boolean {
  return new RegExp(`^[0-9a-f]{${FINGERPRINT_DIGITS}}$`).test(s);
}

const memo = new Map<string, string>();

function requireBackend(): void {
  if (!backendInfo())
    throw new Error("arithmeticFingerprint needs initBackend() first: it fingerprints the backend in use");
}

/**
 * The fingerprint of the arithmetic of this process's backend and kernel set (see the header).
 * Needs initBackend() first. The same in every process with the same build, machine and
 * environment (OPENBLAS_CORETYPE, BCR_KERNELS).
 */
export function arithmeticFingerprint(): string {
  requireBackend();
  // The kernel set can be switched within a process (initBackend again, enableNativeKernels).
  const key = `${tf.getBackend()}:${nativeKernelsInfo() ? "native" : "own"}`;
  const known = memo.get(key);
  if (known) return known;
  const fp = measureArithmetic();
  memo.set(key, fp);
  return fp;
}

/** arithmeticFingerprint computed afresh, not from the process's memo. */
export function measureArithmetic(): string {
  requireBackend();
  const h = createHash("sha256");
  tf.tidy(() => {
    for (const t of outputs()) {
      const d = t.dataSync() as Float32Array;
      h.update(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
  });
  return h.digest("hex").slice(0, FINGERPRINT_DIGITS);
}
