// The study's ETA basis: once an experiment has finished, its own stage times give the unit costs
// (checked against a hand computation from the same units), and an experiment's hash ignores the
// fields that only name places, so moving a parent config's output folder does not redo a study.
// The back-test: on the committed rows, A try 1's and B's SFT and gate times predicted from each
// other's within 20% (the only stages both measured).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { runData } from "../../src/reproduce/data.js";
import { layout } from "../../src/reproduce/layout.js";
import { type Experiment, experimentHash, loadStudy, sftSeedConfig } from "../../src/study/config.js";
import {
  experimentUnits,
  planStudy,
  predictWall,
  sftMeanTokens,
  studyUnitCosts,
  type UnitCosts,
} from "../../src/study/eta.js";
import { readRows } from "../../src/study/rows.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const study = loadStudy(path.join(root, "configs/study/study.json"));
const [A, B] = study.experiments;

test("studyUnitCosts: seconds per unit from a finished experiment's stage times, the rest from the fallback", () => {
  const u = experimentUnits(A!);
  const wall = { sft: 3000, gate: 60, rl: 1800, eval: 1200, continuation: 300 };
  const c = studyUnitCosts([{ exp: A!, wall, file: "A/rows" }], null)!;
  assert.ok(Math.abs(c.sft - 3000 / u.sft) / c.sft < 1e-12);
  assert.ok(Math.abs(c.rl - 2100 / u.rl) / c.rl < 1e-12);
  assert.ok(Math.abs(c.eval - 1200 / u.eval) / c.eval < 1e-12);
  assert.ok(Math.abs(c.gate - 60 / u.gate) / c.gate < 1e-12);
  assert.match(c.basis, /finished experiments \(A/);

  // Planning A again from its own costs gives back its own measured total (the units cancel).
  const plan = planStudy([A!], path.join(root, "runs-that-do-not-exist"), c);
  const total = plan.reduce((s, i) => s + i.seconds, 0);
  assert.ok(Math.abs(total - (3000 + 60 + 1800 + 1200 + 300)) < 1e-6, `planned ${total}`);

  // A gate-failed experiment measured no RL or eval: those kinds come from the fallback; its gates count.
  const fallback: UnitCosts = { sft: 1, rl: 2, eval: 3, gate: 4, basis: "older run" };
  const g = studyUnitCosts([{ exp: B!, wall: { sft: 900, gate: 20 }, file: "B/rows" }], fallback)!;
  assert.equal(g.rl, 2);
  assert.equal(g.eval, 3);
  assert.notEqual(g.sft, 1);
  assert.ok(Math.abs(g.gate - 20 / experimentUnits(B!).gate) / g.gate < 1e-12);
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

// A try 1 (results/study/tries/A-1) is A with its first SFT mix; it ran SFT and the gate only (the
// gate failed). B ran every stage, but its RL and eval beside a second run (docs/results.md: about
// 1.5-2x their idle times), and a rows meta line holds one sum per stage, no per-seed or per-run
// times: neither stage has a second measurement to predict it from, so only SFT and gate are tested.
test("back-test on the committed rows: A try 1's and B's SFT and gate times, each predicted from the other's, within 20%", () => {
  const archive = (f: string) => readRows(path.join(root, "results/study", f, "rows.jsonl.gz")).meta;
  const [a1, b] = [archive("tries/A-1"), archive("B")];
  const tryMix = { essential: 0.3, redundant: 0.6, shortcut: 0.1 }; // A.json's recipeTries: only the mix changed
  const A1: Experiment = { ...A!, base: { ...A!.base, sft: { ...A!.base.sft, mix: tryMix } } };
  // The archives measured the gates the configs describe (units count them): 512 problems x 4 at budget 160.
  for (const m of [a1, b]) for (const g of m.gate) assert.match(g.gates[0]!.how, /^2048 sampled N=1 responses/);
  const from = (exp: Experiment, wall: Record<string, number | undefined>) =>
    studyUnitCosts([{ exp, wall, file: exp.spec.id }], null)!;
  const cases = [
    { target: "B", predicted: predictWall(B!, from(A1, a1.wall)), recorded: b.wall },
    { target: "A try 1", predicted: predictWall(A1, from(B!, b.wall)), recorded: a1.wall },
  ];
  for (const { target, predicted, recorded } of cases)
    for (const stage of ["sft", "gate"] as const) {
      const ratio = predicted[stage] / recorded[stage]!;
      assert.ok(
        Math.abs(ratio - 1) <= 0.2,
        `${target} ${stage}: predicted ${predicted[stage].toFixed(0)} s, recorded ${recorded[stage]!.toFixed(0)} s`,
      );
    }
});

test("studyUnitCosts takes the fastest measured rate per kind, not the pooled one", () => {
  const [, , C] = study.experiments;
  const ua = experimentUnits(A!);
  const uc = experimentUnits(C!);
  // A's SFT ran slow (paired), C's eval slow (loaded): each kind comes from the faster experiment.
  const slowA = { sft: 40 * ua.sft * 1e-9, gate: 1, rl: ua.rl * 4e-9, eval: ua.eval * 1e-9 };
  const slowC = { sft: uc.sft * 1e-9, gate: 2, rl: uc.rl * 5e-9, eval: uc.eval * 9e-9 };
  const c = studyUnitCosts(
    [
      { exp: A!, wall: slowA, file: "A/rows" },
      { exp: C!, wall: slowC, file: "C/rows" },
    ],
    null,
  )!;
  const close = (x: number, y: number) => Math.abs(x - y) / y < 1e-9;
  assert.ok(close(c.sft, 1e-9), `sft ${c.sft}`);
  assert.ok(close(c.rl, 4e-9), `rl ${c.rl}`);
  assert.ok(close(c.eval, 1e-9), `eval ${c.eval}`);
  assert.ok(close(c.gate, Math.min(1 / ua.gate, 2 / uc.gate)));
  assert.match(c.basis, /sft \d+ s of C\/rows, rl \d+ s of A\/rows, eval \d+ s of A\/rows/);
});

test("sftMeanTokens: the mean tokens of the examples the data stage writes (its first 2000), from memory", () => {
  const [, , C] = study.experiments;
  const c = sftSeedConfig(C!, 1, "unused");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eta-tokens-"));
  try {
    runData(c, layout(dir, path.join(dir, "out")));
    const tok = new CharTokenizer();
    for (const [file, phase] of [
      ["sft.jsonl", c.sft],
      ["sft-extend.jsonl", c.sft.extend!],
    ] as const) {
      const lines = fs
        .readFileSync(path.join(dir, "data", file), "utf8")
        .trim()
        .split("\n")
        .slice(0, 2000);
      const ex = lines.map((l) => JSON.parse(l) as { prompt: string; response: string });
      const mean =
        ex.reduce((s, e) => s + 2 + tok.encode(e.prompt).length + tok.encode(e.response).length, 0) / ex.length;
      assert.equal(sftMeanTokens(c, phase), mean, file);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// C and B's Cooperlake replicate ran alone on the machine (docs/results.md); A's SFT items ran two at
// a time and B's first run beside other work. Each idle run, predicted from every other committed
// run at the fastest rate per kind, lands within 20% on SFT, RL, eval and the whole; the gate (a few
// percent of the time) is not held to it: C's forced-bare gates decode packs twice, B's N=1 once.
test("back-test: C and B's Cooperlake replicate, each predicted from the other committed runs, within 20%", () => {
  const [, , C] = study.experiments;
  const runs = [
    { exp: A!, file: "results/study/A" },
    { exp: B!, file: "results/study/B" },
    { exp: C!, file: "results/study/C" },
    { exp: B!, file: "results/arithmetic/cooperlake/study/B" },
  ].map((r) => ({ ...r, wall: readRows(path.join(root, r.file, "rows.jsonl.gz")).meta.wall }));
  for (const target of [runs[2]!, runs[3]!]) {
    const costs = studyUnitCosts(
      runs.filter((r) => r !== target),
      null,
    )!;
    const p = predictWall(target.exp, costs);
    const w = target.wall;
    const recorded = { sft: w.sft!, rl: w.rl! + (w.continuation ?? 0), eval: w.eval!, gate: w.gate! };
    for (const stage of ["sft", "rl", "eval"] as const) {
      const ratio = p[stage] / recorded[stage];
      assert.ok(
        Math.abs(ratio - 1) <= 0.2,
        `${target.file} ${stage}: ${p[stage].toFixed(0)} s vs ${recorded[stage].toFixed(0)} s`,
      );
    }
    const total = p.sft + p.gate + p.rl + p.eval;
    const real = recorded.sft + recorded.gate + recorded.rl + recorded.eval;
    assert.ok(Math.abs(total / real - 1) <= 0.2, `${target.file}: ${total.toFixed(0)} s vs ${real.toFixed(0)} s`);
  }
});
