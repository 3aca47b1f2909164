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
import { experimentHash, loadStudy, sftSeedConfig } from "../../src/study/config.js";
import {
  decodeTokens,
  experimentUnits,
  planStudy,
  predictWall,
  sftMeanTokens,
  studyUnitCosts,
  type UnitCosts,
} from "../../src/study/eta.js";
import { readRows } from "../../src/study/rows.js";
import { synthesizeSplits } from "../../src/tasks/dataset.js";
import { buildSftExamples } from "../../src/tasks/index.js";

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

test("decodeTokens: the prompt plus the expected longest response of a batch, capped at the budget", () => {
  const [, , C] = study.experiments;
  const a = sftSeedConfig(A!, 1, "unused");
  const d = a.data;
  const tok = new CharTokenizer();
  const { train } = synthesizeSplits({ seed: d.seed, train: d.train, test: d.test, levels: d.levels });
  const ex = buildSftExamples(train, {
    count: 4000,
    groupSizes: [1],
    seed: d.seed,
    mix: a.sft.mix,
    loops: a.sft.loops,
  });
  const prompt = ex.reduce((s, e) => s + 1 + tok.encode(e.prompt).length, 0) / ex.length;
  const lens = ex.map((e) => tok.encode(e.response).length + 1);
  // Budget 0: the prompt alone (a hand mean over the same examples); a small budget caps the response.
  assert.ok(Math.abs(decodeTokens(a, 1, 0, 64) - prompt) < 1e-9);
  assert.ok(Math.abs(decodeTokens(a, 1, 5, 64) - (prompt + 5)) < 1e-9);
  // Uncapped: within 3 tokens of the mean largest of 3000 batches of 64 drawn (a simple LCG) from the examples.
  let x = 12345;
  const draw = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return lens[x % lens.length]!;
  };
  let sum = 0;
  for (let b = 0; b < 3000; b++) {
    let m = 0;
    for (let i = 0; i < 64; i++) m = Math.max(m, draw());
    sum += m;
  }
  const longest = decodeTokens(a, 1, 10_000, 64) - prompt;
  assert.ok(Math.abs(longest - sum / 3000) < 3, `quantile ${longest} vs simulated ${(sum / 3000).toFixed(1)}`);
  // It must move where the cost moves: a batch of one costs the median, less than a batch of 64;
  // C's bare answers decode shorter than A's re-checked ones; packs of 4 longer than single problems.
  const median = [...lens].sort((p, q) => p - q)[Math.floor(lens.length / 2)]!;
  assert.ok(Math.abs(decodeTokens(a, 1, 10_000, 1) - prompt - median) < 1e-9);
  assert.ok(decodeTokens(a, 1, 10_000, 1) < decodeTokens(a, 1, 10_000, 64));
  assert.ok(decodeTokens(sftSeedConfig(C!, 1, "unused"), 1, 160, 64) < decodeTokens(a, 1, 160, 64));
  assert.ok(decodeTokens(a, 4, 10_000, 64) > decodeTokens(a, 1, 10_000, 64));
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

// The committed A, B and C rows come from one `npm start` in a fresh clone, nothing else running
// (docs/results.md, "Clean-clone check (the whole study, at the final speed)"): same code, machine
// and load. Each experiment, predicted from the other two at the fastest rate per kind, lands within
// 20% on SFT, RL (with the continuation), eval and the whole: RL and eval count the prompt plus the
// batch's expected longest response (decodeTokens), so C's short answers no longer make its rate
// the fastest by a margin (in budget units C predicted A's RL 22% and eval 19% short, and was
// itself predicted 27% long on RL). With decodeTokens: A rl 926/1025 s, eval 545/597 s, whole 9%
// short; B rl 349/369, eval 193/176, whole 1% long; C rl 217/205, eval 159/182, whole 6% short.
// The gate (2-3% of the time) is held to 20% only where it is an N=1 gate (A and B: 25 against 29 s,
// 17 against 15 s): C's forced-bare gates decode packs twice, A's and B's N=1 once. The kernel-set replicate and A's first try ran on older, slower code, so
// they are not a basis for this run.
test("back-test on the committed rows: A, B and C, each predicted from the other two, within 20% per stage and whole", () => {
  const [, , C] = study.experiments;
  const runs = [
    { exp: A!, file: "results/study/A" },
    { exp: B!, file: "results/study/B" },
    { exp: C!, file: "results/study/C" },
  ].map((r) => ({ ...r, wall: readRows(path.join(root, r.file, "rows.jsonl.gz")).meta.wall }));
  for (const target of runs) {
    const costs = studyUnitCosts(
      runs.filter((r) => r !== target),
      null,
    )!;
    const p = predictWall(target.exp, costs);
    const w = target.wall;
    const recorded = { sft: w.sft!, rl: w.rl! + (w.continuation ?? 0), eval: w.eval!, gate: w.gate! };
    for (const [stage, bound] of [
      ["sft", 0.2],
      ["rl", 0.2],
      ["eval", 0.2],
    ] as const) {
      const ratio = p[stage] / recorded[stage];
      assert.ok(
        Math.abs(ratio - 1) <= bound,
        `${target.file} ${stage}: ${p[stage].toFixed(0)} s vs ${recorded[stage].toFixed(0)} s`,
      );
    }
    if (target.exp.spec.id !== "C")
      assert.ok(
        Math.abs(p.gate / recorded.gate - 1) <= 0.2,
        `${target.file} gate: ${p.gate.toFixed(0)} s vs ${recorded.gate.toFixed(0)} s`,
      );
    const total = p.sft + p.gate + p.rl + p.eval;
    const real = recorded.sft + recorded.gate + recorded.rl + recorded.eval;
    assert.ok(Math.abs(total / real - 1) <= 0.2, `${target.file}: ${total.toFixed(0)} s vs ${real.toFixed(0)} s`);
    console.log(
      `${target.file}: ` +
        (["sft", "gate", "rl", "eval"] as const)
          .map((k) => `${k} ${p[k].toFixed(0)}/${recorded[k].toFixed(0)} s`)
          .join(", ") +
        `; whole ${total.toFixed(0)}/${real.toFixed(0)} s`,
    );
  }
});
