// Every registered gradient against central finite differences, on the backend initBackend picks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { GRADIENT_KERNELS } from "../../src/engine/gradients.js";
import { Rng } from "../../src/util/rng.js";

await initBackend();
const rng = new Rng(11);
const rand = (shape: number[], lo = -1, hi = 1) =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rng.next()),
    shape,
  );

/** Checks d sum(w * f(x)) / dx for every element of every input, in float64 on the host. */
function check(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], eps = 1e-2, tol = 2e-2) {
  const w = tf.tidy(() => rand(f(...inputs).shape));
  const loss = (...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)) as tf.Scalar;
  const grads = tf.grads(loss)(inputs);
  inputs.forEach((x, k) => {
    const g = grads[k]!.dataSync();
    const base = x.dataSync().slice();
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) =>
        tf.tidy(() => {
          const v = base.slice();
          v[i]! += d;
          const xs = inputs.map((t, j) => (j === k ? tf.tensor(v, x.shape) : t));
          return loss(...xs).dataSync()[0]!;
        });
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(
        Math.abs(fd - g[i]!) <= tol * (1 + Math.abs(fd)),
        `${name}: input ${k}[${i}] analytic ${g[i]} vs numeric ${fd}`,
      );
    }
  });
}

test("the gradients the model and losses use match finite differences", () => {
  tf.tidy(() => {
    const a = rand([2, 3]),
      b = rand([3]),
      c = rand([2, 3], 0.5, 2);
    check("add (broadcast)", tf.add, [a, b]);
    check("sub", tf.sub, [a, b]);
    check("mul", tf.mul, [a, b]);
    check("div", tf.div, [a, c]);
    check("maximum", tf.maximum, [a, rand([2, 3])]);
    check("minimum", tf.minimum, [a, rand([2, 3])]);
    check("squaredDifference", tf.squaredDifference, [a, b]);
    check("pow", (x) => tf.pow(x, 3), [c]);
    for (const [n, fn] of [
      ["neg", tf.neg],
      ["square", tf.square],
      ["exp", tf.exp],
      ["tanh", tf.tanh],
      ["sigmoid", tf.sigmoid],
      ["softplus", tf.softplus],
      ["abs", tf.abs],
    ] as const)
      check(n, fn, [a]);
    for (const [n, fn] of [
      ["sqrt", tf.sqrt],
      ["rsqrt", tf.rsqrt],
      ["log", tf.log],
      ["reciprocal", tf.reciprocal],
      ["log1p", tf.log1p],
    ] as const)
      check(n, fn, [c]);
    check("relu", tf.relu, [
      tf.tensor([
        [-0.5, 0.3, 0.7],
        [0.2, -0.9, 0.4],
      ]),
    ]);
    check("clipByValue", (x) => tf.clipByValue(x, -0.5, 0.5), [
      tf.tensor([
        [-0.8, 0.3, 0.7],
        [0.2, -0.1, 0.4],
      ]),
    ]);
    check("where", (x, y) => tf.where(tf.greater(x, 0), x, y), [a, rand([2, 3])]);
    check("sum/mean/max", (x) => tf.add(tf.add(tf.sum(x, 1, true), tf.mean(x, 0)), tf.max(x, 1, true)), [a]);
    check("softmax", (x) => tf.softmax(x), [a]);
    check("logSoftmax", (x) => tf.logSoftmax(x), [a]);
    check("reshape/transpose/expandDims", (x) => tf.expandDims(tf.transpose(tf.reshape(x, [3, 2])), 0), [a]);
    check(
      "slice/pad",
      (x) =>
        tf.pad(tf.slice(x, [0, 1], [2, 2]), [
          [1, 0],
          [0, 2],
        ]),
      [a],
    );
    check(
      "split/concat",
      (x) => {
        const [p, q] = tf.split(x, [1, 2], 1);
        return tf.concat([q!, tf.mul(p!, 2)], 1);
      },
      [a],
    );
    check("stack/unstack", (x, y) => tf.stack([...tf.unstack(x), y], 1), [a, rand([3])]);
    check("tile", (x) => tf.tile(x, [2, 3]), [a]);
    check(
      "addN/broadcastTo",
      (x) => tf.addN([x, tf.broadcastTo(tf.reshape(tf.slice(x, [0, 0], [1, 3]), [1, 3]), [2, 3])]),
      [a],
    );
    for (const [tA, tB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ]) {
      check(`matMul tA=${tA} tB=${tB}`, (x, y) => tf.matMul(x, y, tA, tB), [
        rand(tA ? [3, 2] : [2, 3]),
        rand(tB ? [4, 3] : [3, 4]),
      ]);
    }
    check("batched matMul", (x, y) => tf.matMul(x, y), [rand([2, 2, 3]), rand([2, 3, 2])]);
  });
});

test("gradient list covers the kernels the GPT differentiates through", () => {
  for (const k of [
    "BatchMatMul",
    "Softmax",
    "Tanh",
    "Rsqrt",
    "Mean",
    "Sum",
    "SplitV",
    "Slice",
    "Transpose",
    "Reshape",
    "Multiply",
    "Add",
    "Sub",
    "Cast",
  ]) {
    assert.ok(GRADIENT_KERNELS.includes(k), k);
    assert.ok(tf.getGradient(k), `${k} registered`);
  }
});
