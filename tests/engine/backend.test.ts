import { test } from "node:test";
import assert from "node:assert/strict";
import { backendInfo, initBackend, tf } from "../../src/engine/backend.js";

test("auto picks wasm here and says why each tfjs-node package was skipped", async () => {
  const info = await initBackend("auto");
  assert.equal(info.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(info.requested, "auto");
  assert.equal(info.tfjsVersion, tf.version_core);
  assert.equal(info.threads, 1);
  assert.equal(typeof info.simd, "boolean");
  assert.deepEqual(
    info.skipped.map((s) => s.backend),
    ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"],
  );
  for (const s of info.skipped) assert.equal(s.reason, "module not installed");
  assert.equal(backendInfo(), info);
});

test("an explicit cpu request works and switches the backend", async () => {
  const info = await initBackend("cpu");
  assert.equal(info.name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.deepEqual(info.skipped, []);
  assert.equal(info.simd, null);
  assert.equal(tf.sum(tf.tensor([1, 2, 3])).dataSync()[0], 6);
  await initBackend("wasm");
  assert.equal(tf.getBackend(), "wasm");
});

test("an unknown name and an unavailable explicit backend are clear errors", async () => {
  await assert.rejects(initBackend("gpu9000"), /unknown backend "gpu9000".*auto, tensorflow, wasm, cpu/);
  await assert.rejects(
    initBackend("tensorflow"),
    /backend 'tensorflow' is not available.*tfjs-node-gpu: module not installed/,
  );
});

test("BCR_BACKEND is the default request", async () => {
  const before = process.env.BCR_BACKEND;
  process.env.BCR_BACKEND = "cpu";
  try {
    assert.equal((await initBackend()).name, "cpu");
  } finally {
    if (before === undefined) delete process.env.BCR_BACKEND;
    else process.env.BCR_BACKEND = before;
    await initBackend("wasm");
  }
});
