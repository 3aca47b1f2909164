/**
 * Rotary position embeddings (RoPE, Su et al. 2021) for the GPT's queries and keys.
 *
 * Why this file exists: with learned absolute positions the SFT model tells the problems of a
 * packed context apart by *where* they sit, not by the "k:" header it has just written (see
 * docs/packed-contexts.md). Rotating q and k by an angle proportional to the position makes
 * every attention score a function of the *relative* offset between query and key, so "which
 * problem am I in" has to be read from content.
 *
 * Convention: the "rotate half" layout of GPT-NeoX and Llama. In each head of hd columns,
 * column i (i < hd/2) pairs with column i + hd/2 and the pair turns by pos * base^(-2i/hd):
 *   x'_i        = x_i cos - x_{i+hd/2} sin
 *   x'_{i+hd/2} = x_{i+hd/2} cos + x_i sin
 * Values are not rotated. The rotation runs on the host (the per-pair attention path reads qkv
 * to the host anyway), and its gradient is the inverse rotation: a rotation is orthogonal.
 */
import { tf } from "../engine/backend.js";

/** The base of the angle frequencies (RoFormer's and Llama's 10000). */
export const ROTARY_BASE = 10000;

/** cos and sin of every (position, frequency) pair, [blockSize, hd/2] row-major. */
export class RotaryTable {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
  readonly half: number;

  constructor(
    readonly blockSize: number,
    readonly headDim: number,
    base = ROTARY_BASE,
  ) {
    if (headDim % 2 !== 0) throw new Error(`rotary positions need an even head size (nEmbd / nHead), got ${headDim}`);
    this.half = headDim / 2;
    this.cos = new Float32Array(blockSize * this.half);
    this.sin = new Float32Array(blockSize * this.half);
    for (let p = 0; p < blockSize; p++) {
      for (let i = 0; i < this.half; i++) {
        const angle = p * base ** ((-2 * i) / headDim);
        this.cos[p * this.half + i] = Math.cos(angle);
        this.sin[p * this.half + i] = Math.sin(angle);
      }
    }
  }
}

/**
 * Rotates the q and k columns of qkv rows (each row [q | k | v], C = width/3 columns per part,
 * H heads) in place: row r sits at positions[r]. `inverse` turns by minus the angle (the
 * gradient of the forward rotation).
 */
export function rotateQueriesKeys(
  qkv: Float32Array,
  positions: ArrayLike<number>,
  H: number,
  table: RotaryTable,
  inverse = false,
): void {
  const rows = positions.length;
  const W = qkv.length / rows;
  const C = W / 3;
  const hd = C / H;
  const half = table.half;
  if (!Number.isInteger(C) || hd !== table.headDim) {
    throw new Error(`rotateQueriesKeys: rows of ${W} values do not fit ${H} heads of ${table.headDim}`);
  }
  const sign = inverse ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    const p = positions[r]!;
    if (!(p >= 0 && p < table.blockSize))
      throw new Error(`rotateQueriesKeys: position ${p} is outside 0..${table.blockSize - 1}`);
    const t = p * half;
    // q occupies columns [0, C), k [C, 2C): 2H heads in a row.
    for (let h = 0; h < 2 * H; h++) {
      const o = r * W + h * hd;
      for (let i = 0; i < half; i++) {
        const c = table.cos[t + i]!;
        const s = sign * table.sin[t + i]!;
        const a = qkv[o + i]!;
        const b = qkv[o + i + half]!;
        qkv[o + i] = a * c - b * s;
        qkv[o + i + half] = b * c + a * s;
      }
    }
  }
}

/** qkv [R, 3C] -> the same with q and k rotated to positions[r]; differentiable. */
export function applyRotary(qkv: tf.Tensor2D, positions: Int32Array, H: number, table: RotaryTable): tf.Tensor2D {
  if (qkv.shape[0] !== positions.length)
    throw new Error(`applyRotary: ${qkv.shape[0]} rows but ${positions.length} positions`);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor2D;
    const data = (x.dataSync() as Float32Array).slice();
    rotateQueriesKeys(data, positions, H, table);
    return {
      value: tf.tensor2d(data, x.shape),
      gradFunc: (dy: tf.Tensor2D) => {
        const g = (dy.dataSync() as Float32Array).slice();
        rotateQueriesKeys(g, positions, H, table, true);
        return tf.tensor2d(g, dy.shape);
      },
    };
  });
  return op(qkv) as tf.Tensor2D;
}
