// The study's ETA basis: once an experiment has finished, its own stage times give the unit costs
// (checked against a hand computation from the same units), and an experiment's hash ignores the
// fields that only name places, so moving a parent config's output folder does not redo a study.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { experimentHash, loadStudy } from "../../src/study/config.js";
import { experimentUnits, planStudy, studyUnitCosts, type UnitCosts } from "../../src/study/eta.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const study = loadStudy(path.join(root, "configs/study/study.json"));
const [A, B] = study.experiments;

test("studyUnitCosts: seconds per unit from a finished experiment's stage times, the rest from the fallback", () => {
  const u = experimentUnits(A!);
  const wall = { sft: 3000, gate: 60, rl: 1800, eval: 1200, continuation: 300 };
  const c = studyUnitCosts([{ exp: A!, wall, file: "A/rows" }], null)!;
  assert.ok(Math.abs(c.sft - 3000 / u.sft) / c.sft < 1e-12);
  assert.ok(Math.abs(c.rl - 2100 / u.rl) / c.rl < 1e-12);
  assert.ok(Math.abs(c.eval - 1260 / (u.eval + u.gate)) / c.eval < 1e-12);
  assert.match(c.basis, /finished experiments \(A/);

  // Planning A again from its own costs gives back its own measured total (the units cancel).
  const plan = planStudy([A!], path.join(root, "runs-that-do-not-exist"), c);
  const total = plan.reduce((s, i) => s + i.seconds, 0);
  assert.ok(Math.abs(total - (3000 + 60 + 1800 + 1200 + 300)) < 1e-6, `planned ${total}`);

  // A gate-failed experiment measured no RL or eval: those kinds come from the fallback.
  const fallback: UnitCosts = { sft: 1, rl: 2, eval: 3, basis: "older run" };
  const g = studyUnitCosts([{ exp: B!, wall: { sft: 900, gate: 20 }, file: "B/rows" }], fallback)!;
  assert.equal(g.rl, 2);
  assert.equal(g.eval, 3);
  assert.notEqual(g.sft, 1);
  assert.match(g.basis, /older run/);
  assert.equal(studyUnitCosts([], fallback), null);
});

test("experimentHash ignores out, runs and name, and follows what the results depend on", () => {
  const h = experimentHash(A!);
  const moved = { ...A!, base: { ...A!.base, out: "elsewhere", runs: "runs/elsewhere", name: "renamed" } };
  assert.equal(experimentHash(moved), h);
  const changed = { ...A!, base: { ...A!.base, rl: { ...A!.base.rl, steps: A!.base.rl.steps + 1 } } };
  assert.notEqual(experimentHash(changed), h);
  const reseeded = { ...A!, spec: { ...A!.spec, rlSeeds: [1, 2, 3] } };
  assert.notEqual(experimentHash(reseeded), h);
});
