/**
 * Causal multi-head self-attention as one 2-D matmul problem per (sequence, head) pair.
 *
 * Why this file exists: on the wasm backend only a plain 2-D `a @ b` reaches XNNPACK
 * (~7-17 GFLOP/s at these shapes); the batched [B*H, T, hd] @ [B*H, hd, T] matmul runs a naive
 * loop at ~1.3 GFLOP/s and took two thirds of a 16x256 training step. So for long sequences
 * attention runs as B*H independent 2-D problems, with a hand-written gradient that is 2-D
 * matmuls too (the transposed operands it needs are built directly, never via the slow
 * transposeA/transposeB matmul flags).
 *
 * Cutting the per-pair operands out of one tensor is the other half of the cost: wasm's Slice,
 * Split and Unstack copy the whole input on every call, Gather runs ~80 ns per element, and a
 * [B*H, T, T] transpose takes ~30 ms. So the qkv activations are read to the host once, cut
 * into per-pair blocks in JS (already transposed where a matmul wants that, already scaled by
 * 1/sqrt(hd)), uploaded, and the per-pair results are read back and merged into [B*T, C] the
 * same way. Those copies are O(B*T*C), small next to the O(B*H*T^2*hd) matmuls.
 *
 * Short sequences keep the one batched matmul (GPT picks by length, `attentionSettings`): there
 * the flops are few and ~10 kernel calls per pair would cost more than they save.
 * No dropout on the attention probabilities here; with attention dropout GPT uses the batched
 * path.
 *
 * Under BCR_KERNELS=native the per-pair path hands the whole forward and backward pass to one
 * native kernel (nativeCausalAttention, src/engine/native-kernels.ts), which reads q, k and v in place.
 */
import { tf } from "../engine/backend.js";
import { nativeKernelsInfo, nativeCausalAttention } from "../engine/native-kernels.js";

/** Additive mask value; large but finite so a fully masked row is uniform, not NaN. */
export const NEG = -1e9;

/**
 * When GPT uses the per-pair path: sequences of at least this many tokens (measured on wasm,
 * 2 cores: at T=32 the batched matmul still wins, from T=64 the per-pair path does). Tests
 * lower it to run whole models through this path.
 */
export const attentionSettings = { pairwiseMinLength: 64 };

interface Shape {
  B: number;
  T: number;
  H: number;
  hd: number;
}

/**
 * Copies head h of sequence b out of `src` (rows of `stride` values; the head's first column
 * is col0 + h*hd) as a [T, hd] block, or [hd, T] when `transpose`, times `scale`.
 */
function cut(
  src: Float32Array,
  s: Shape,
  b: number,
  h: number,
  stride: number,
  col0: number,
  transpose: boolean,
  scale = 1,
): Float32Array {
  const { T, hd } = s;
  const out = new Float32Array(T * hd);
  const base = b * T * stride + col0 + h * hd;
  for (let t = 0; t < T; t++) {
    const row = base + t * stride;
    if (transpose) for (let d = 0; d < hd; d++) out[d * T + t] = src[row + d]! * scale;
    else for (let d = 0; d < hd; d++) out[t * hd + d] = src[row + d]! * scale;
  }
  return out;
}

/** The inverse of cut (without scale): writes a [T, hd] (or [hd, T]) block into `dst`. */
function paste(
  block: Float32Array,
  dst: Float32Array,
  s: Shape,
  b: number,
  h: number,
  stride: number,
  col0: number,
  transpose: boolean,
): void {
  const { T, hd } = s;
  const base = b * T * stride + col0 + h * hd;
  for (let t = 0; t < T; t++) {
    const row = base + t * stride;
    if (transpose) for (let d = 0; d < hd; d++) dst[row + d] = block[d * T + t]!;
    else for (let d = 0; d < hd; d++) dst[row + d] = block[t * hd + d]!;
  }
}

/**
 * [T, T] additive bias per sequence: NEG above the diagonal (the future) plus NEG on the
 * first keyPads[b] columns (left padding), summed exactly like the batched path does.
 */
function biases(B: number, T: number, keyPads: number[] | undefined): tf.Tensor2D[] {
  const byPad = new Map<number, tf.Tensor2D>();
  return Array.from({ length: B }, (_, b) => {
    const pad = keyPads?.[b] ?? 0;
    let t = byPad.get(pad);
    if (!t) {
      const m = new Float32Array(T * T);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) m[i * T + j] = (j < pad ? NEG : 0) + (j > i ? NEG : 0);
      }
      t = tf.tensor2d(m, [T, T]);
      byPad.set(pad, t);
    }
    return t;
  });
}

/**
 * qkv [B*T, 3C] (the c_attn output: q, k, v side by side, heads of hd = C/H columns each)
 * -> softmax(q k^T / sqrt(hd) + causal mask) v, heads merged back: [B*T, C]. Differentiable.
 * keyPads[b] hides the first keyPads[b] key columns of sequence b (left-padded prompts).
 */
export function causalSelfAttention(
  qkv: tf.Tensor2D,
  B: number,
  T: number,
  H: number,
  keyPads?: number[],
): tf.Tensor2D {
  const C = qkv.shape[1] / 3;
  const s: Shape = { B, T, H, hd: C / H };
  const { hd } = s;
  if (qkv.shape[0] !== B * T || !Number.isInteger(hd)) {
    throw new Error(`causalSelfAttention: qkv ${qkv.shape} does not fit B=${B}, T=${T}, H=${H}`);
  }
  // With the OpenBLAS addon the same computation runs in C on the wasm heap, no host copies.
  if (nativeKernelsInfo()) return nativeCausalAttention(qkv, B, T, H, keyPads);
  const scale = 1 / Math.sqrt(hd);
  const W = 3 * C;
  const attend = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const src = x.dataSync() as Float32Array;
    const bias = biases(B, T, keyPads);
    const out = new Float32Array(B * T * C);
    const probs: tf.Tensor[] = [];
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const p = tf.tidy(() => {
          const q = tf.tensor2d(cut(src, s, b, h, W, 0, false, scale), [T, hd]);
          const kT = tf.tensor2d(cut(src, s, b, h, W, C, true), [hd, T]);
          const v = tf.tensor2d(cut(src, s, b, h, W, 2 * C, false), [T, hd]);
          const att = tf.softmax(tf.add(tf.matMul(q, kT), bias[b]!));
          paste(tf.matMul(att, v).dataSync() as Float32Array, out, s, b, h, C, 0, false);
          return att;
        });
        probs.push(p);
      }
    }
    // The probabilities are what the gradient needs; q, k, v it cuts again from `src`.
    save(probs);
    tf.dispose([...probs, ...new Set(bias)]);
    return {
      value: tf.tensor2d(out, [B * T, C]),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const g = dy.dataSync() as Float32Array;
        const dx = new Float32Array(B * T * W);
        const r = new Float32Array(T);
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            // Softmax backward needs r_t = sum_j dAtt[t,j] att[t,j], which equals dy_t . y_t
            // (FlashAttention's trick): T*hd host flops instead of two [T, T] kernels.
            for (let t = 0; t < T; t++) {
              const row = (b * T + t) * C + h * hd;
              let acc = 0;
              for (let d = 0; d < hd; d++) acc += g[row + d]! * out[row + d]!;
              r[t] = acc;
            }
            tf.tidy(() => {
              const att = saved[b * H + h]!;
              // XNNPACK repacks the right operand of every new matmul (~10 ns per value), so each
              // product below keeps a small [T, hd] / [hd, T] block on the right; that is why
              // dk and dv come from att^T rather than as (q^T dS)^T and (dy^T att)^T.
              const attT = tf.transpose(att);
              const dyBlock = tf.tensor2d(cut(g, s, b, h, C, 0, false), [T, hd]);
              const dyT = tf.tensor2d(cut(g, s, b, h, C, 0, true), [hd, T]);
              const v = tf.tensor2d(cut(src, s, b, h, W, 2 * C, false), [T, hd]);
              const vT = tf.tensor2d(cut(src, s, b, h, W, 2 * C, true), [hd, T]);
              // y = att v: d att = dy v^T; softmax: d scores = att * (d att - r), per query row
              const dS = tf.mul(att, tf.sub(tf.matMul(dyBlock, vT), tf.tensor2d(r, [T, 1])));
              // The same, transposed (keys on rows), from v dy^T = (d att)^T.
              const dST = tf.mul(attT, tf.sub(tf.matMul(v, dyT), tf.tensor2d(r, [1, T])));
              // scores = (q*scale) k^T: dq = dS (k*scale), dk = dS^T (q*scale); dv = att^T dy
              const k = tf.tensor2d(cut(src, s, b, h, W, C, false, scale), [T, hd]);
              const q = tf.tensor2d(cut(src, s, b, h, W, 0, false, scale), [T, hd]);
              paste(tf.matMul(dS, k).dataSync() as Float32Array, dx, s, b, h, W, 0, false);
              paste(tf.matMul(dST, q).dataSync() as Float32Array, dx, s, b, h, W, C, false);
              paste(tf.matMul(attT, dyBlock).dataSync() as Float32Array, dx, s, b, h, W, 2 * C, false);
            });
          }
        }
        return tf.tensor2d(dx, [B * T, W]);
      },
    };
  });
  return attend(qkv) as tf.Tensor2D;
}

/**
 * The straightforward version: one batched matmul over all (sequence, head) pairs. The
 * reference the per-pair path is tested against; GPT uses the same computation inline
 * (with a KV cache and dropout) for short sequences.
 */
export function causalSelfAttentionBatched(
  qkv: tf.Tensor2D,
  B: number,
  T: number,
  H: number,
  keyPads?: number[],
): tf.Tensor2D {
  return tf.tidy(() => {
    const C = qkv.shape[1] / 3;
    const hd = C / H;
    const [q, k, v] = tf.split(qkv, 3, 1);
    const heads = (t: tf.Tensor) =>
      tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]);
    const scores = tf.matMul(tf.mul(heads(q!), 1 / Math.sqrt(hd)), tf.transpose(heads(k!), [0, 2, 1]));
    const bias = tf.stack(biases(B, T, keyPads).map((t) => tf.reshape(t, [1, T, T])));
    const att = tf.softmax(tf.add(tf.reshape(scores, [B, H, T, T]), bias));
    const y = tf.matMul(tf.reshape(att, [B * H, T, T]), heads(v!));
    return tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, C]) as tf.Tensor2D;
  });
}
