import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tf, useBackend } from "./setup.js";
import { AdamW, clipByGlobalNorm, lrAt, type LrSchedule } from "../../src/train/optim.js";

before(useBackend);

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) < tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test("AdamW matches a hand-computed 2-step example (decay on the matrix, not on the bias)", () => {
  const params = new Map<string, tf.Variable>([
    ["w", tf.variable(tf.tensor2d([[1, -2]]))],
    ["b", tf.variable(tf.tensor1d([0.5]))],
  ]);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
  assert.deepEqual(opt.decayedNames, ["w"]);
  // Step 1: the bias-corrected update is g/|g| = +-1 per element.
  //   w: [1,-2]*(1-0.1*0.1) - 0.1*[1,-1] = [0.89, -1.88];   b: 0.5 - 0.1 = 0.4
  opt.update(
    new Map<string, tf.Tensor>([
      ["w", tf.tensor2d([[0.5, -1]])],
      ["b", tf.tensor1d([2])],
    ]),
    0.1,
  );
  close(params.get("w")!.dataSync(), [0.89, -1.88]);
  close(params.get("b")!.dataSync(), [0.4]);
  // Step 2 (gradient flips sign on w): m = [-0.005, 0.01], v = [0.00049975, 0.001999],
  //   bc1 = 0.19, bc2 = 0.001999 -> mhat = [-0.026316, 0.052632], sqrt(vhat) = [0.5, 1]
  //   w: [0.89,-1.88]*0.99 - 0.1*[-0.052632, 0.052632] = [0.886363, -1.866463]
  //   b: m = 0.28, v = 0.004996 -> 0.4 - 0.1*(1.473684/1.580901) = 0.306782
  opt.update(
    new Map<string, tf.Tensor>([
      ["w", tf.tensor2d([[-0.5, 1]])],
      ["b", tf.tensor1d([1])],
    ]),
    0.1,
  );
  close(params.get("w")!.dataSync(), [0.886363, -1.866463]);
  close(params.get("b")!.dataSync(), [0.306782]);
  assert.equal(opt.step, 2);
  opt.dispose();
});

test("AdamW state round-trips: a restored optimizer continues identically", () => {
  const mk = () =>
    new Map<string, tf.Variable>([
      [
        "w",
        tf.variable(
          tf.tensor2d([
            [0.3, -0.7],
            [1.1, 0.2],
          ]),
        ),
      ],
    ]);
  const g = () =>
    new Map([
      [
        "w",
        tf.tensor2d([
          [0.1, -0.2],
          [0.3, 0.05],
        ]),
      ],
    ]);
  const pa = mk(),
    pb = mk();
  const a = new AdamW(pa, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const b = new AdamW(pb, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  a.update(g(), 0.01);
  a.update(g(), 0.01);
  pb.get("w")!.assign(pa.get("w")!);
  b.setState(a.getState());
  assert.equal(b.step, 2);
  a.update(g(), 0.01);
  b.update(g(), 0.01);
  assert.deepEqual(Array.from(pb.get("w")!.dataSync()), Array.from(pa.get("w")!.dataSync()));
  const bad = a.getState();
  bad.moments.set("w", { ...bad.moments.get("w")!, shape: [4] });
  assert.throws(() => b.setState(bad), /w has shape \[4\]/);
  assert.throws(() => a.update(new Map(), 0.01), /no gradient for parameter w/);
});

test("AdamW update leaks no tensors", () => {
  const params = new Map([["w", tf.variable(tf.ones([3, 3]))]]);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const grads = new Map([["w", tf.ones([3, 3])]]);
  opt.update(grads, 0.1);
  const n = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) opt.update(grads, 0.1);
  assert.equal(tf.memory().numTensors, n);
});

test("lrAt: linear warm-up, cosine to minLr, floor after decaySteps", () => {
  const s: LrSchedule = { lr: 1e-3, minLr: 1e-4, warmupSteps: 10, decaySteps: 110, decay: "cosine" };
  assert.equal(lrAt(0, s), 1e-4);
  assert.ok(Math.abs(lrAt(4, s) - 5e-4) < 1e-12);
  assert.ok(Math.abs(lrAt(9, s) - 1e-3) < 1e-12);
  assert.ok(Math.abs(lrAt(10, s) - 1e-3) < 1e-12);
  assert.ok(Math.abs(lrAt(60, s) - 5.5e-4) < 1e-12); // half-way: (lr + minLr) / 2
  assert.ok(Math.abs(lrAt(110, s) - 1e-4) < 1e-12);
  assert.equal(lrAt(500, s), 1e-4);
  for (let t = 10; t < 110; t++) assert.ok(lrAt(t + 1, s) <= lrAt(t, s), `not decreasing at ${t}`);
  assert.equal(lrAt(0, { ...s, warmupSteps: 0 }), 1e-3);
  assert.equal(lrAt(500, { ...s, decay: "constant" }), 1e-3);
});

test("clipByGlobalNorm returns the pre-clip norm and scales to maxNorm", () => {
  const grads = new Map<string, tf.Tensor>([
    ["a", tf.tensor1d([3, 0])],
    ["b", tf.tensor2d([[0, 4]])],
  ]);
  const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
  assert.ok(Math.abs(norm.dataSync()[0]! - 5) < 1e-6);
  close(clipped.get("a")!.dataSync(), [0.6, 0]);
  close(clipped.get("b")!.dataSync(), [0, 0.8]);
  const loose = clipByGlobalNorm(grads, 10); // under the limit: unchanged
  close(loose.grads.get("a")!.dataSync(), [3, 0], 1e-5);
  const off = clipByGlobalNorm(grads, 0); // disabled
  close(off.grads.get("b")!.dataSync(), [0, 4]);
  assert.ok(Math.abs(off.norm.dataSync()[0]! - 5) < 1e-6);
});
