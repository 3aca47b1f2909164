import { test, before } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { tf, useBackend } from "../train/setup.js";
import { AdamW } from "../../src/train/optim.js";
import {
  CheckpointError,
  latestCheckpoint,
  loadCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  saveRunCheckpoint,
} from "../../src/run/checkpoint.js";
import { Rng } from "../../src/util/rng.js";

before(useBackend);

const tmpDir = () => tempDir("bcr-ckpt-");

function makeModel(seed: number, nEmbd = 4) {
  const r = new Rng(seed);
  const rand = (shape: number[]) =>
    tf.tensor(
      Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal()),
      shape,
    );
  const params = new Map<string, tf.Variable>([
    ["wte", tf.variable(rand([7, nEmbd]))],
    ["h.0.ln.bias", tf.variable(rand([nEmbd]))],
  ]);
  return { config: { vocabSize: 7, nEmbd, nLayer: 1 }, params };
}
const values = (m: { params: Map<string, tf.Variable> }) =>
  [...m.params].map(([k, v]) => [k, Array.from(v.dataSync())]);

function trainedPair(seed = 1) {
  const model = makeModel(seed);
  const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const grads = new Map([...model.params].map(([k, v]) => [k, tf.onesLike(v)] as [string, tf.Tensor]));
  opt.update(grads, 0.01);
  opt.update(grads, 0.01);
  return { model, opt, grads };
}

test("round trip restores weights, optimizer moments, step, RNG state and extra", () => {
  const dir = path.join(tmpDir(), "ck");
  const { model, opt, grads } = trainedPair();
  const rng = new Rng(5);
  rng.next();
  saveCheckpoint(dir, { model, optimizer: opt, step: 2, rngState: { data: rng.state }, extra: { cursor: 17 } });
  for (const f of ["model.json", "weights.bin", "optimizer.json", "optimizer.bin", "state.json"]) {
    assert.ok(fs.existsSync(path.join(dir, f)), f);
  }
  const ck = loadCheckpoint(dir, { expectConfig: model.config, expectParams: model.params });
  assert.equal(ck.step, 2);
  assert.deepEqual(ck.rngState, { data: rng.state });
  assert.deepEqual(ck.extra, { cursor: 17 });

  const fresh = makeModel(99);
  const opt2 = new AdamW(fresh.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  assert.notDeepEqual(values(fresh), values(model));
  restoreCheckpoint(ck, fresh, opt2);
  assert.deepEqual(values(fresh), values(model));
  assert.equal(opt2.step, 2);
  // The restored optimizer continues exactly like the original.
  opt.update(grads, 0.01);
  opt2.update(grads, 0.01);
  assert.deepEqual(values(fresh), values(model));
  const r2 = Rng.fromState((ck.rngState as { data: number }).data);
  assert.equal(r2.next(), rng.next());
});

test("a flipped byte in weights.bin, a truncated file or a missing file is refused, naming the file", () => {
  const dir = path.join(tmpDir(), "ck");
  const { model, opt } = trainedPair();
  saveCheckpoint(dir, { model, optimizer: opt, step: 2 });
  const wfile = path.join(dir, "weights.bin");
  const good = fs.readFileSync(wfile);
  const bad = Buffer.from(good);
  bad[5] = bad[5]! ^ 0x01;
  fs.writeFileSync(wfile, bad);
  assert.throws(
    () => loadCheckpoint(dir),
    (e: Error) => e instanceof CheckpointError && /weights\.bin: sha256 .* corrupt/.test(e.message),
  );
  fs.writeFileSync(wfile, good.subarray(0, good.byteLength - 4));
  assert.throws(() => loadCheckpoint(dir), /weights\.bin: \d+ bytes, expected \d+ \(truncated/);
  fs.writeFileSync(wfile, good);
  loadCheckpoint(dir); // intact again
  const ofile = path.join(dir, "optimizer.bin");
  const obytes = fs.readFileSync(ofile);
  obytes[0] = obytes[0]! ^ 0x80;
  fs.writeFileSync(ofile, obytes);
  assert.throws(() => loadCheckpoint(dir), /optimizer\.bin: sha256/);
  fs.rmSync(path.join(dir, "state.json"));
  fs.writeFileSync(
    ofile,
    fs.readFileSync(ofile).map((b, i) => (i === 0 ? b ^ 0x80 : b)),
  );
  assert.throws(() => loadCheckpoint(dir), /state\.json: missing/);
});

test("a checkpoint for a different config or different shapes is refused with what differs", () => {
  const dir = path.join(tmpDir(), "ck");
  const { model } = trainedPair();
  saveCheckpoint(dir, { model, step: 0 });
  const other = makeModel(1, 8);
  assert.throws(
    () => loadCheckpoint(dir, { expectConfig: other.config }),
    /model\.json: model config differs: nEmbd 4 \(checkpoint\) vs 8 \(expected\)/,
  );
  assert.throws(
    () => loadCheckpoint(dir, { expectParams: other.params }),
    /wte shape \[7,4\] \(checkpoint\) vs \[7,8\] \(model\)/,
  );
  const ck = loadCheckpoint(dir);
  assert.throws(() => restoreCheckpoint(ck, other), /parameters differ: wte shape/);
  const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 });
  assert.throws(() => restoreCheckpoint(ck, model, opt), /no optimizer state/);
});

test("a crash while writing leaves the previous checkpoint in place and loadable", () => {
  const runDir = tmpDir();
  const ckDir = path.join(runDir, "checkpoints");
  const a = trainedPair(1);
  const first = saveRunCheckpoint(ckDir, { model: a.model, optimizer: a.opt, step: 2 });
  // Overwriting the same directory: crash after weights.bin is written.
  const b = trainedPair(2);
  const crash = (f: string) => {
    if (f.endsWith("weights.bin")) throw new Error("simulated crash");
  };
  assert.throws(
    () => saveCheckpoint(first, { model: b.model, optimizer: b.opt, step: 9 }, { afterWrite: crash }),
    /simulated crash/,
  );
  let ck = loadCheckpoint(first);
  assert.equal(ck.step, 2);
  assert.deepEqual([...ck.weights.get("wte")!.data], [...a.model.params.get("wte")!.dataSync()]);
  // A new step directory: crash mid-write, `latest` still names the old, complete one.
  assert.throws(
    () => saveRunCheckpoint(ckDir, { model: b.model, optimizer: b.opt, step: 4 }, { afterWrite: crash }),
    /simulated crash/,
  );
  assert.equal(latestCheckpoint(ckDir), first);
  ck = loadCheckpoint(latestCheckpoint(ckDir)!);
  assert.equal(ck.step, 2);
  // Crash between "old renamed aside" and "new renamed in": the aside copy is found.
  fs.renameSync(first, `${first}.old-12345`);
  assert.equal(loadCheckpoint(first).step, 2);
  fs.renameSync(`${first}.old-12345`, first);
  // Then a successful save moves `latest` and keepLast prunes.
  saveRunCheckpoint(ckDir, { model: b.model, optimizer: b.opt, step: 4 }, { keepLast: 1 });
  assert.equal(path.basename(latestCheckpoint(ckDir)!), "step-0000004");
  assert.equal(loadCheckpoint(latestCheckpoint(ckDir)!).step, 4);
  assert.ok(!fs.existsSync(first));
});
