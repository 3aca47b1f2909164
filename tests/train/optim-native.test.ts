// The native AdamW and clipping norm (native/kernels.c, src/engine/native-kernels.ts) against the
// tfjs ops they replace (src/train/optim.ts): the same float32 operations in the same order, so
// weights, moments and the norm must come out the same bits, step after step, including on
// denormals, zeros, huge and tiny values and when clipping bites. Float32 bit patterns are compared
// (Uint32Array), so even -0 against +0 would fail.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { tf, useBackend } from "./setup.js";
import { fusedTraining, nativeOptimizer, setFusedTraining } from "../../src/engine/native-kernels.js";
import { AdamW } from "../../src/train/optim.js";
import { Rng } from "../../src/util/rng.js";

await useBackend();
after(() => setFusedTraining(true));

const skip = nativeOptimizer() === null ? "the native kernel set is not loaded (BCR_KERNELS=wasm or no addon)" : false;

/** The shapes of a small GPT's parameters: matrices (decayed) and vectors (not). */
const SHAPES: Record<string, number[]> = {
  wte: [89, 16],
  c_attn: [16, 48],
  "c_attn.bias": [48],
  ln: [16],
  c_fc: [16, 64],
  "c_fc.bias": [64],
  scalarish: [1, 1],
};

/** Values spanning what training meets and its edges: normal, tiny, denormal, zero, signed zero, huge. */
function values(rng: Rng, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const kind = i % 16;
    if (kind === 0) out[i] = 0;
    else if (kind === 1) out[i] = -0;
    else if (kind === 2)
      out[i] = (rng.normal() < 0 ? -1 : 1) * 1e-41; // denormal
    else if (kind === 3) out[i] = rng.normal() * 1e-30;
    else if (kind === 4) out[i] = rng.normal() * 1e10;
    else out[i] = rng.normal() * scale;
  }
  return out;
}

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

function makeParams(seed: number): Map<string, tf.Variable> {
  const rng = new Rng(seed);
  return new Map(
    Object.entries(SHAPES).map(([name, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return [name, tf.variable(tf.tensor(values(rng, n, 0.5), shape), true, `optim-native-${seed}-${name}`)];
    }),
  );
}

function makeGrads(rng: Rng, scale: number): Map<string, tf.Tensor> {
  // a different key order than the parameters': the norm adds in the gradients' order
  return new Map(
    Object.entries(SHAPES)
      .reverse()
      .map(([name, shape]) => [
        name,
        tf.tensor(
          values(
            rng,
            shape.reduce((a, b) => a * b, 1),
            scale,
          ),
          shape,
        ),
      ]),
  );
}

/** Runs `steps` clipAndUpdate steps on the fused or the tfjs path; returns every bit of the state and the norms. */
function run(fused: boolean, steps: number, maxNorm: number, weightDecay: number) {
  setFusedTraining(fused);
  const params = makeParams(7);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay });
  const rng = new Rng(11);
  const norms: number[][] = [];
  for (let s = 0; s < steps; s++) {
    // gradient scales from tiny (no clipping) to large (clipping bites)
    const grads = makeGrads(rng, [1e-3, 3, 0.1, 1e-20][s % 4]!);
    const norm = opt.clipAndUpdate(grads, maxNorm, 3e-3 * (1 + s));
    norms.push(bits(norm));
    tf.dispose([norm, ...grads.values()]);
  }
  const state = opt.getState();
  const out = {
    params: [...params].map(([k, v]) => [k, bits(v)]),
    moments: [...state.moments].map(([k, m]) => [
      k,
      Array.from(new Uint32Array(m.m.buffer)),
      Array.from(new Uint32Array(m.v.buffer)),
    ]),
    norms,
  };
  opt.dispose();
  for (const v of params.values()) v.dispose();
  setFusedTraining(true);
  return out;
}

for (const [maxNorm, wd] of [
  [1, 0.1],
  [0, 0.1],
  [0.5, 0],
]) {
  test(`clipAndUpdate: the native path gives the tfjs path's bits over 8 steps (maxNorm ${maxNorm}, weightDecay ${wd})`, {
    skip,
  }, () => {
    const fused = run(true, 8, maxNorm!, wd!);
    const old = run(false, 8, maxNorm!, wd!);
    assert.deepEqual(fused.norms, old.norms);
    for (let i = 0; i < old.params.length; i++)
      assert.deepEqual(fused.params[i], old.params[i], `param ${old.params[i]![0]}`);
    for (let i = 0; i < old.moments.length; i++)
      assert.deepEqual(fused.moments[i], old.moments[i], `moments of ${old.moments[i]![0]}`);
  });
}

test("the native path really ran: no tfjs kernel per parameter after the first step", { skip }, async () => {
  const params = makeParams(3);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const grads = makeGrads(new Rng(5), 0.1);
  // The first step finds each variable sharing its data with the tensor it was made from, and
  // runs the tfjs ops (which give it data of its own); from then on, in place.
  tf.dispose(opt.clipAndUpdate(grads, 1, 1e-3));
  const { kernels } = await tf.profile(() => tf.dispose(opt.clipAndUpdate(grads, 1, 1e-3)));
  assert.ok(kernels.length <= 2, `kernels: ${kernels.map((k) => k.name).join(", ")}`);
  assert.ok(fusedTraining());
  opt.dispose();
  tf.dispose([...grads.values(), ...params.values()]);
});

test("a parameter sharing its data with another tensor is not written in place", { skip }, () => {
  const p = tf.variable(tf.tensor1d([1, 2, 3]), true, "optim-native-shared");
  const opt = new AdamW(new Map([["p", p]]), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 });
  const g = tf.tensor1d([1, 1, 1]);
  opt.update(new Map([["p", g]]), 0.1); // now p's data is its own
  const alias = tf.reshape(p, [3, 1]); // shares it, as a reshape does
  const before = Array.from(alias.dataSync());
  opt.update(new Map([["p", g]]), 0.1);
  assert.deepEqual(Array.from(alias.dataSync()), before, "the reshape saw the update");
  assert.notDeepEqual(Array.from(p.dataSync()), before);
  opt.dispose();
  tf.dispose([p, alias, g]);
});
