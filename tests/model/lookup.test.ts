// lookupRows: rows by host ids, against tf.gather (forward) and a one-hot matmul (gradient).
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { lookupRows } from "../../src/model/lookup.js";

await initBackend();

test("lookupRows equals gather, and its gradient equals the one-hot matmul's (repeated ids accumulate)", () => {
  const table = tf.variable(
    tf.tensor2d(
      Array.from({ length: 5 * 3 }, (_, i) => Math.sin(i + 1)),
      [5, 3],
    ),
  );
  const ids = Int32Array.from([4, 0, 4, 2, 4]);
  const w = tf.tensor2d(
    Array.from({ length: ids.length * 3 }, (_, i) => Math.cos(i)),
    [ids.length, 3],
  );
  const before = tf.memory().numTensors;
  const got = tf.tidy(() => Array.from(lookupRows(table, ids).dataSync()));
  const want = tf.tidy(() => Array.from(tf.gather(table, tf.tensor1d(ids, "int32")).dataSync()));
  assert.deepEqual(got, want);
  const grad = (f: () => tf.Tensor2D) =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(f(), w)) as tf.Scalar, [table]);
      return Array.from(grads[table.name]!.dataSync());
    });
  const host = grad(() => lookupRows(table, ids));
  const oneHot = grad(() => tf.matMul(tf.cast(tf.oneHot(tf.tensor1d(ids, "int32"), 5), "float32"), table));
  host.forEach((v, i) => assert.ok(Math.abs(v - oneHot[i]!) < 1e-6, `grad ${i}: ${v} vs ${oneHot[i]}`));
  // Row 4 is used three times, row 1 and 3 never.
  assert.ok(Math.abs(host[4 * 3]! - (Math.cos(0) + Math.cos(6) + Math.cos(12))) < 1e-6);
  assert.deepEqual(host.slice(3, 6), [0, 0, 0]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => lookupRows(table, Int32Array.from([5])), /id 5 at 0 is outside 0\.\.4/);
  tf.dispose([table, w]);
});

test("the native lookup (fused kernels) gives the host loop's bits, forward and gradient", async () => {
  const { fusedTraining, setFusedTraining } = await import("../../src/engine/native-kernels.js");
  if (!fusedTraining()) return; // the native set is not loaded: only the host loop runs
  // 300 ids over 7 rows: each row's gradient sums ~40 values, where the order shows in the bits
  const table = tf.variable(tf.randomNormal([7, 5], 0, 1, "float32", 1) as tf.Tensor2D);
  const ids = Int32Array.from({ length: 300 }, (_, i) => (i * 5 + (i >> 3)) % 7);
  const w = tf.randomNormal([300, 5], 0, 1, "float32", 2);
  const run = (fused: boolean) => {
    setFusedTraining(fused);
    try {
      return tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(lookupRows(table, ids), w)) as tf.Scalar,
          [table],
        );
        const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
        return { rows: bits(lookupRows(table, ids)), value: bits(value), grad: bits(grads[table.name]!) };
      });
    } finally {
      setFusedTraining(true);
    }
  };
  assert.deepEqual(run(true), run(false));
  tf.dispose([table, w]);
});
