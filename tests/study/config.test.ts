// The study's configs: the committed ones load and say what issue 29 asks; a wrong field is an
// error that names the file and the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { type Experiment, loadExperiment, loadStudy, methodLabel, sftSeedConfig } from "../../src/study/config.js";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// biome-ignore lint/suspicious/noExplicitAny: test edits of free-form JSON
type Json = any;
const quickA = JSON.parse(fs.readFileSync(path.join(root, "configs/study/quick-A.json"), "utf8"));

/** An experiment file in a temp folder: quick-A with `change` applied (base.extends made absolute). */
function experimentFile(change: (e: Record<string, Json>) => void): string {
  const e = structuredClone(quickA);
  e.base.extends = path.join(root, "configs/reproduce-quick.json");
  change(e);
  const f = path.join(tempDir("bcr-study-cfg-"), "X.json");
  fs.writeFileSync(f, JSON.stringify(e, null, 2));
  return f;
}

test("the committed study: A, B, C with 5 / 3 / 3 SFT seeds, 2 RL seeds, 512 problems, 4 samples, and each experiment's design", () => {
  const s = loadStudy(path.join(root, "configs/study/study.json"));
  assert.deepEqual(
    s.experiments.map((e) => e.spec.id),
    ["A", "B", "C"],
  );
  for (const e of s.experiments) {
    // A's claim 2 needs the margin the power arithmetic supports: 5 SFT seeds (docs/results.md).
    assert.deepEqual(e.spec.sftSeeds, e.spec.id === "A" ? [1, 2, 3, 4, 5] : [1, 2, 3]);
    assert.deepEqual(e.spec.rlSeeds, [1, 2]);
    assert.equal(e.base.eval.problems, 512);
    assert.ok(e.base.data.test >= 512, "the split holds 512 test problems");
    assert.equal(e.base.eval.samples, 4);
    assert.equal(e.spec.rules.nonInferiorityMargin, e.spec.id === "A" ? 0.075 : 0.05);
    assert.ok(e.spec.rules.marginSource.length > 0);
    assert.equal(e.spec.rules.minReduction, 0.15);
    assert.equal(e.spec.rules.collapseFloor, 0.05);
  }
  const [A, B, C] = s.experiments as [Experiment, Experiment, Experiment];
  // Try 2 of A's SFT recipe (try 1, 0.3 / 0.6 / 0.1, failed its gate on 3 of 5 SFT seeds; recipeTries records it).
  assert.deepEqual(A.base.sft.mix, { essential: 0.2, redundant: 0.7, shortcut: 0.1 });
  assert.equal(A.spec.recipeTries?.length, 1);
  assert.deepEqual(B.base.sft.mix, { essential: 0.3, redundant: 0.6, shortcut: 0.1 });
  assert.deepEqual(A.base.rl.bcr.n, [3, 4]);
  assert.equal(A.base.rl.bcr.budget, 140);
  assert.deepEqual(A.base.rl.methods.map(methodLabel), ["single", "bcr", "single@b", "linear@0.1", "linear@1"]);
  assert.equal(A.base.rl.steps, 40);
  assert.deepEqual(A.spec.continuation, { steps: 80, methods: ["bcr", "single"] });
  assert.match(A.spec.pilot ?? "", /pilot/);
  assert.deepEqual(A.gates, [{ metric: "recheck_share", threshold: 0.5, direction: ">=" }]);
  assert.deepEqual(B.base.rl.methods.map(methodLabel), ["bcr", "bcr-split", "single"]);
  assert.deepEqual(B.base.rl.packMix, [
    [5, 6],
    [7, 8],
  ]);
  assert.equal(C.base.sft.mix.terse, undefined, "no terse rung");
  assert.ok((C.base.sft.mix.bare ?? 0) > 0 && C.base.sft.mix.essential > 0 && C.base.sft.mix.shortcut > 0);
  assert.deepEqual(C.base.rl.bcr.n, [3, 4, 6, 8]);
  assert.equal(C.base.rl.bcr.budget, 160);
  assert.deepEqual(C.base.eval.ns, [1, 2, 3, 4, 6, 8]);
  assert.deepEqual(
    C.gates.map((g) => [g.metric, g.threshold]),
    [
      ["forced_bare_accuracy_n1", 0.6],
      ["forced_bare_accuracy_n8", 0.6],
    ],
  );
  // SFT seed k seeds the SFT data draw and the SFT run (and the second phase's), RL seeds are the experiment's.
  const c = sftSeedConfig(C, 2, "runs/x");
  assert.equal(c.sft.seed, 2);
  assert.equal(c.sft.run.seed, 2);
  assert.equal(c.sft.extend?.seed, 3);
  assert.equal(c.sft.extend?.run.seed, 2);
  assert.deepEqual(c.seeds, [1, 2]);
  assert.equal(c.runs, path.join("runs/x", "C", "sft-2"));
  assert.equal(loadStudy(path.join(root, "configs/study/quick.json")).spec.smoke, true);
});

test("errors name the file and the field", () => {
  const cases: [(e: Record<string, Json>) => void, RegExp][] = [
    [(e) => (e.sftSeeds = [1, 2]), /X\.json:\d+:\d+: field sftSeeds: needs at least 3 SFT seeds/],
    [(e) => (e.rlSeeds = [1]), /X\.json:\d+:\d+: field rlSeeds: needs at least 2 RL seeds/],
    [(e) => (e.sftSeeds = [1, 1, 2]), /field sftSeeds: SFT seeds must be distinct/],
    [(e) => (e.gate.metric = "loops"), /X\.json:\d+:\d+: field gate\[0\]\.metric: expected one of/],
    [(e) => delete e.rules.nonInferiorityMargin, /X\.json:\d+:\d+: field rules\.nonInferiorityMargin: expected number/],
    [(e) => (e.rules.bogus = 1), /X\.json:\d+:\d+: unknown field rules\.bogus/],
    [(e) => (e.id = "a"), /field id: an id is a capital letter/],
    [(e) => (e.claims = ["5"]), /field claims\[0\]: expected one of/],
    [(e) => (e.base.rl.steps = "ten"), /X\.json \(base\): field rl\.steps: expected number, got string/],
    [(e) => delete e.base.extends, /X\.json \(base\): field extends/],
    [
      (e) => (e.base.eval.problems = 100),
      /X\.json: field base\.eval\.problems: 100 problems, but the data split has base\.data\.test = 24/,
    ],
    [(e) => (e.base.rl.methods = [{ kind: "bcr" }]), /X\.json: field claims: claim 2 needs the arm\(s\) single/],
    [(e) => (e.claims = ["sharing"]), /field claims: claim sharing needs the arm\(s\) bcr-split/],
    [
      (e) => (e.gate = { metric: "difficulty_token_gap", threshold: 1 }),
      /field gate\[0\]\.metric: difficulty_token_gap needs the difficulty field/,
    ],
    [(e) => (e.continuation = { steps: 80, methods: ["kimi"] }), /field continuation\.methods: kimi is not an arm/],
  ];
  for (const [change, re] of cases) assert.throws(() => loadExperiment(experimentFile(change)), re, String(re));
  const study = path.join(tempDir("bcr-study-cfg-"), "study.json");
  fs.writeFileSync(study, JSON.stringify({ experiments: ["missing.json"] }));
  assert.throws(() => loadStudy(study), /study\.json: field experiments: missing\.json does not exist/);
  const e = experimentFile(() => {});
  fs.writeFileSync(study, JSON.stringify({ experiments: [e, e] }));
  assert.throws(() => loadStudy(study), /two experiments have the id A/);
});

test("arithmeticReplicates: results folders of the same study under other kernel sets; a bad entry names the field", () => {
  const committed = loadStudy(path.join(root, "configs/study/study.json"));
  assert.deepEqual(committed.spec.arithmeticReplicates, ["results/arithmetic/wasm", "results/arithmetic/cooperlake"]);
  assert.deepEqual(loadStudy(path.join(root, "configs/study/quick.json")).spec.arithmeticReplicates, []);
  const study = path.join(tempDir("bcr-study-cfg-"), "study.json");
  const e = experimentFile(() => {});
  const load = (replicates: unknown) => {
    fs.writeFileSync(study, JSON.stringify({ out: "results", experiments: [e], arithmeticReplicates: replicates }));
    return () => loadStudy(study);
  };
  assert.throws(load("results/arithmetic/wasm"), /study\.json:\d+:\d+: field arithmeticReplicates: expected array/);
  assert.throws(load([""]), /study\.json:\d+:\d+: field arithmeticReplicates\[0\]: /);
  assert.throws(load(["a/b", "a/b/"]), /field arithmeticReplicates: a replicate is listed twice/);
  assert.throws(
    load(["results/"]),
    /study\.json: field arithmeticReplicates: results\/ is the study's own out \(a replicate is another run's results folder\)/,
  );
});
