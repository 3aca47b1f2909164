// Issue 31's two shortcuts in the native kernel set that must change no bit (native/kernels.c):
// the vector expf (GELU, its gradient, the attention softmaxes) against glibc's expf, and the
// causal attention blocks against the whole T x T square, each on and off on the same inputs, plus
// the rows where the blocks must be refused (a block that is not a multiple of the BLAS tile).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { initBackend, tf } from "../../src/engine/backend.js";
import {
  ADDON_PATH,
  attentionBlocksAgree,
  disableNativeKernels,
  enableNativeKernels,
  expfAgreement,
  nativeCausalAttention,
  nativeGelu,
  nativeKernelsInfo,
  setAttentionBlocks,
  setVectorExp,
} from "../../src/engine/native-kernels.js";
import { Rng } from "../../src/util/rng.js";

await initBackend("wasm");
const skip = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} is not built (node scripts/build-native.mjs)`;

function withNative<T>(f: () => T): T {
  enableNativeKernels();
  try {
    return f();
  } finally {
    setVectorExp(true);
    setAttentionBlocks(48);
    disableNativeKernels();
  }
}

/** Whether this machine runs the vector path at all (x86-64 with AVX2 and FMA, glibc's FMA expf). */
function vectorCapable(): boolean {
  return withNative(() => setVectorExp(true));
}

/** f's result, with every tensor it made disposed (tf.tidy takes only tensor containers). */
function scoped<T>(f: () => T): T {
  tf.engine().startScope();
  try {
    return f();
  } finally {
    tf.engine().endScope();
  }
}

const bits = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);

function sameBits(a: Uint32Array, b: Uint32Array, what: string) {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++)
    if (a[i] !== b[i]) assert.fail(`${what}: element ${i} differs (${a[i]!.toString(16)} vs ${b[i]!.toString(16)})`);
}

test("the vector expf gives glibc's expf bits on a spread of every float below 88 in magnitude", { skip }, (t) => {
  if (!vectorCapable()) return t.skip("no AVX2 + FMA here, or the addon's own check kept the scalar expf");
  withNative(() => {
    // every 97th bit pattern: 44 million floats, 23 million of them with |x| < 88 (the whole range is
    // `expfAgreement(0, 2 ** 32, 1)`, about 15 s; it gave 0 on the machine of bench/README.md)
    assert.equal(expfAgreement(0, 2 ** 32, 97), 0);
    // the two inputs that tell a fused rounding of x * 32/ln2 from a plain one, and their neighbours
    assert.equal(expfAgreement(0x42024200, 0x42024300, 1), 0);
    assert.equal(expfAgreement(0xc27c6500, 0xc27c6600, 1), 0);
  });
});

test("GELU and its gradient: the same bits with the vector expf as with the scalar loop, and a GELU", { skip }, () => {
  const rng = new Rng(31);
  // lengths that are not multiples of 8 (the scalar tail), values across the range, and the
  // special ones: NaN, infinities, signed zeros, a subnormal, magnitudes past expf's 88 limit
  const n = 8 * 1000 + 5;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (2 * rng.next() - 1) * (i % 13 === 0 ? 200 : 6);
  x.set([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1e-40, 90, -90, 1000, -1000], 16);
  const dy = Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
  const run = (vector: boolean) =>
    withNative(() => {
      setVectorExp(vector);
      return scoped(() => {
        const xt = tf.tensor1d(x);
        const y = nativeGelu(xt);
        const dx = tf.grad((p: tf.Tensor) => tf.sum(tf.mul(nativeGelu(p), tf.tensor1d(dy))))(xt);
        return [bits(y), bits(dx), y.dataSync().slice()] as const;
      });
    });
  const [ys, dxs] = run(false);
  const [yv, dxv, values] = run(true);
  sameBits(yv, ys, "GELU");
  sameBits(dxv, dxs, "GELU gradient");
  // and it is the tanh GELU: float64 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), finite inputs
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v) || Math.abs(v) > 50) continue;
    const want = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    assert.ok(
      Math.abs(values[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)),
      `GELU(${v}) = ${values[i]}, want ${want}`,
    );
  }
});

/** Attention forward and gradient (with a padded tail's zero dy) at one shape, as bits. */
function attentionBits(B: number, T: number, H: number, hd: number, seed: number, pads?: number[]) {
  const rng = new Rng(seed);
  const C = H * hd;
  const qkv = Float32Array.from({ length: B * T * 3 * C }, () => 2 * rng.next() - 1);
  const w = Float32Array.from({ length: B * T * C }, (_, i) => (i % (T * C) >= (T - 5) * C ? 0 : 2 * rng.next() - 1));
  return scoped(() => {
    const x = tf.tensor2d(qkv, [B * T, 3 * C]);
    const y = nativeCausalAttention(x, B, T, H, pads);
    const g = tf.grad((p: tf.Tensor) =>
      tf.sum(tf.mul(nativeCausalAttention(p as tf.Tensor2D, B, T, H, pads), tf.tensor2d(w, [B * T, C]))),
    )(x);
    return [bits(y), bits(g)] as const;
  });
}

test("causal attention blocks: the whole square's bits, forward and backward, at the trained shapes", { skip }, () => {
  const H = 4;
  const hd = 32;
  for (const T of [49, 97, 150, 197, 231, 320]) {
    const [yb, gb] = withNative(() => {
      setAttentionBlocks(48);
      return attentionBits(3, T, H, hd, T);
    });
    const [yf, gf] = withNative(() => {
      setAttentionBlocks(0);
      return attentionBits(3, T, H, hd, T);
    });
    sameBits(yb, yf, `attention T=${T}`);
    sameBits(gb, gf, `attention gradient T=${T}`);
  }
  // with pads, a sequence takes the whole square (its pad queries see keys past the diagonal)
  const [yp, gp] = withNative(() => attentionBits(2, 120, H, hd, 5, [0, 7]));
  const [yq, gq] = withNative(() => {
    setAttentionBlocks(0);
    return attentionBits(2, 120, H, hd, 5, [0, 7]);
  });
  sameBits(yp, yq, "attention with pads");
  sameBits(gp, gq, "attention gradient with pads");
});

test("the blocks' check: used where it agrees, refused where it cannot", { skip }, (t) => {
  withNative(() => {
    const info = nativeKernelsInfo()!;
    assert.equal(setAttentionBlocks(48), 48, "48 rows is the default");
    // a row where the blocks must not run: T within one block
    assert.equal(attentionBlocksAgree(48, 4, 32), false);
    if (info.blas.corename !== "Haswell" || info.threads !== 1)
      return t.skip(
        `the agreement rows below are OpenBLAS 0.3.21's Haswell kernels on 1 thread, not ${info.blas.corename}`,
      );
    // rows where they must: the trained shapes, in blocks of 48 or 24 (multiples of the 24-row tile)
    for (const T of [97, 197, 231, 320]) assert.equal(attentionBlocksAgree(T, 4, 32), true, `T=${T}`);
    setAttentionBlocks(24);
    assert.equal(attentionBlocksAgree(197, 4, 32), true);
    // and where they must fail: a block of 20 rows cuts the BLAS's tiles, so the rounding moves
    setAttentionBlocks(20);
    assert.equal(attentionBlocksAgree(197, 4, 32), false, "blocks of 20 must be refused");
    // past OpenBLAS's K block (320 here) the dq, dk, dv products split their sums differently
    setAttentionBlocks(48);
    assert.equal(attentionBlocksAgree(400, 4, 32), false, "T=400 must be refused");
    assert.throws(() => setAttentionBlocks(-1), /rows must be an integer/);
  });
});
