// The continuation's done.json records the hash of what it was made from (its SFT model, steps,
// methods, eval), and a done.json for another config is not done: the plan (planStudy) and the
// runner and judge phase (continuationState) agree. The runs folders are hand-made: an SFT stage
// marker and the done.json the runner writes. Before the fix, any done.json counted as done.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadExperiment } from "../../src/study/config.js";
import { continuationSetup, continuationState, markContinuationDone } from "../../src/study/continuation.js";
import { planStudy } from "../../src/study/eta.js";
import { markerFile } from "../../src/reproduce/stages.js";
import { tempDir } from "../helpers/tmp.js";

const costs = { sft: 1, rl: 1, eval: 1, gate: 1, basis: "test" };

/** Experiment A of the quick study (continuation: bcr and single, 2 steps, on SFT seed 1), its SFT model done with `sftHash`. */
function setup(sftHash = "5f7a000000000000") {
  const exp = loadExperiment("configs/study/quick-A.json");
  const runs = tempDir("bcr-cont-");
  const sftMarker = (hash: string) => {
    const f = markerFile(path.join(runs, "A", "sft-1"), "sft");
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, JSON.stringify({ stage: "sft", hash, status: "done", started: "then", wall_s: 1 }));
  };
  sftMarker(sftHash);
  const planned = (e = exp) => planStudy([e], runs, costs).find((i) => i.kind === "continuation")!.done;
  return { exp, runs, sftMarker, planned };
}

test("a continuation done with the same config is done: done.json holds its hash", () => {
  const { exp, runs, planned } = setup();
  assert.equal(planned(), false, "nothing run yet");
  markContinuationDone(exp, 1, runs, 12.5);
  const done = JSON.parse(fs.readFileSync(continuationSetup(exp, 1, runs).doneFile, "utf8"));
  assert.match(done.hash, /^[0-9a-f]{16}$/);
  assert.equal(done.wall_s, 12.5);
  assert.deepEqual(continuationState(exp, 1, runs), { done: true });
  assert.equal(planned(), true);
});

test("a continuation done with another config is not done: another SFT model, other methods, other steps", () => {
  const { exp, runs, sftMarker, planned } = setup();
  markContinuationDone(exp, 1, runs, 12.5);

  // The SFT recipe changed (same folder, same model name): the continuation trained on the old model.
  sftMarker("0ther5f7000000000");
  const s = continuationState(exp, 1, runs);
  assert.equal(s.done, false);
  assert.match(
    (s as { why: string }).why,
    /the continuation was done with another config \(.*cont-2\/done\.json: hash [0-9a-f]{16}, expected [0-9a-f]{16}\)/,
  );
  assert.equal(planned(), false);
  sftMarker("5f7a000000000000");
  assert.equal(planned(), true, "back on the model it was made from");

  const cont = exp.spec.continuation!;
  const fewer = { ...exp, spec: { ...exp.spec, continuation: { ...cont, methods: ["bcr"] } } };
  assert.equal(continuationState(fewer, 1, runs).done, false);
  assert.equal(planned(fewer), false);

  const longer = { ...exp, spec: { ...exp.spec, continuation: { ...cont, steps: 3 } } };
  assert.match((continuationState(longer, 1, runs) as { why: string }).why, /^no .*cont-3\/done\.json$/);
  assert.equal(planned(longer), false);
});

test("a done.json from before the hash was recorded: done with another config, not trusted", () => {
  const { exp, runs, planned } = setup();
  const { doneFile } = continuationSetup(exp, 1, runs);
  fs.mkdirSync(path.dirname(doneFile), { recursive: true });
  fs.writeFileSync(doneFile, JSON.stringify({ wall_s: 3 }));
  assert.match(
    (continuationState(exp, 1, runs) as { why: string }).why,
    /done with another config \(.*done\.json: no hash recorded, expected/,
  );
  assert.equal(planned(), false);
});
