import { test } from "node:test";
import assert from "node:assert/strict";
import { ClaimThresholdsSchema, ReproduceConfigSchema } from "../../src/reproduce/config.js";
import { loadConfig } from "../../src/util/config.js";
import { stageHashes } from "../../src/reproduce/pipeline.js";
import { derive } from "../../src/reproduce/budget.js";
import { rlConfigFor } from "../../src/reproduce/rl.js";
import {
  accuracyDrop,
  evaluateClaims,
  freeLunchClaim,
  isMonotoneNonIncreasing,
  loopsClaim,
  stabilityClaim,
  taskScalingClaim,
  type ScalingCurve,
} from "../../src/reproduce/claims.js";

const T = ClaimThresholdsSchema.parse({});
const e = (mean: number, lo: number, hi: number) => ({ mean, ci: [lo, hi] as [number, number] });
const loadReproduceConfig = (file: string) => loadConfig(file, ReproduceConfigSchema);

test("free lunch: held when the reduction's interval clears 30% and accuracy is non-inferior at the 3-point margin", () => {
  const c = freeLunchClaim(
    { tokenReduction: e(0.42, 0.35, 0.5), accuracyDiff: e(-0.005, -0.025, 0.02), bcrTokens: 29, singleTokens: 50 },
    T,
  );
  assert.equal(c.verdict, "held");
  assert.equal(c.number, 2);
  assert.match(c.measurement, /42\.0% \[35\.0%, 50\.0%\]/);
  assert.match(c.measurement, /non-inferior at a 3\.0-point margin/);
  assert.match(c.criterion, />= -3\.0 points/);
  assert.equal((c.details as { nonInferiorityMargin: number }).nonInferiorityMargin, 0.03);
});

test("free lunch: partially when the reduction is real but not shown to reach 30%, or shown but non-inferiority is not", () => {
  assert.equal(
    freeLunchClaim(
      { tokenReduction: e(0.35, 0.25, 0.45), accuracyDiff: e(0, -0.01, 0.01), bcrTokens: 40, singleTokens: 50 },
      T,
    ).verdict,
    "partially",
  );
  assert.equal(
    freeLunchClaim(
      { tokenReduction: e(0.5, 0.4, 0.6), accuracyDiff: e(-0.1, -0.15, -0.05), bcrTokens: 25, singleTokens: 50 },
      T,
    ).verdict,
    "partially",
  );
});

test("free lunch: a mean inside the margin with a wide interval shows nothing (the former default run's numbers)", () => {
  // docs/history/essential/claims.json: reduction 35.3% [29.7%, 40.4%], accuracy +0.3 points
  // [-5.5, +6.0]. The means pass the old point rule; neither interval passes: the lower bound of the
  // reduction is under 30% and equal accuracy is not shown at a 3-point margin.
  const c = freeLunchClaim(
    { tokenReduction: e(0.353, 0.297, 0.404), accuracyDiff: e(0.003, -0.055, 0.06), bcrTokens: 31, singleTokens: 48 },
    T,
  );
  assert.equal(c.verdict, "not held");
  assert.deepEqual(
    [
      (c.details as { meanWithinMargin: boolean }).meanWithinMargin,
      (c.details as { nonInferior: boolean }).nonInferior,
    ],
    [true, false],
  );
  // A margin of 6 points, had it been fixed before the run, would make it partially.
  assert.equal(
    freeLunchClaim(
      { tokenReduction: e(0.353, 0.297, 0.404), accuracyDiff: e(0.003, -0.055, 0.06), bcrTokens: 31, singleTokens: 48 },
      ClaimThresholdsSchema.parse({ freeLunchNonInferiorityMargin: 0.06 }),
    ).verdict,
    "partially",
  );
});

test("free lunch: not held with no reduction, or a small one and lower accuracy", () => {
  assert.equal(
    freeLunchClaim(
      { tokenReduction: e(0.02, -0.05, 0.08), accuracyDiff: e(0, -0.01, 0.01), bcrTokens: 49, singleTokens: 50 },
      T,
    ).verdict,
    "not held",
  );
  assert.equal(
    freeLunchClaim(
      { tokenReduction: e(0.1, 0.05, 0.15), accuracyDiff: e(-0.2, -0.3, -0.1), bcrTokens: 45, singleTokens: 50 },
      T,
    ).verdict,
    "not held",
  );
  // the boundaries: a lower bound exactly at 30% and at minus the margin count
  assert.equal(
    freeLunchClaim(
      { tokenReduction: e(0.35, 0.3, 0.4), accuracyDiff: e(0, -0.03, 0.03), bcrTokens: 35, singleTokens: 50 },
      T,
    ).verdict,
    "held",
  );
});

const curve = (tokens: number[], accuracy: number[], ns = [1, 2, 4, 8]): ScalingCurve => ({
  ns,
  tokensPerProblem: tokens,
  accuracy,
});

test("task scaling: held when bcr's tokens fall monotonically and its accuracy drops less than single's", () => {
  const c = taskScalingClaim(
    { bcr: curve([50, 40, 30, 25], [0.9, 0.88, 0.85, 0.8]), single: curve([60, 45, 30, 20], [0.9, 0.8, 0.6, 0.3]) },
    T,
  );
  assert.equal(c.verdict, "held");
  assert.deepEqual((c.details as { drop: unknown }).drop, { n: 8, a: 0.9 - 0.8, b: 0.9 - 0.3 });
});

test("task scaling: partially with one condition, not held with none", () => {
  // not monotone (rise of 10 > 2% of 50), graceful
  assert.equal(
    taskScalingClaim(
      { bcr: curve([50, 60, 30, 25], [0.9, 0.9, 0.9, 0.9]), single: curve([60, 45, 30, 20], [0.9, 0.8, 0.6, 0.3]) },
      T,
    ).verdict,
    "partially",
  );
  // monotone, but degrades more than single
  assert.equal(
    taskScalingClaim(
      { bcr: curve([50, 40, 30, 25], [0.9, 0.5, 0.2, 0.1]), single: curve([60, 45, 30, 20], [0.9, 0.8, 0.7, 0.6]) },
      T,
    ).verdict,
    "partially",
  );
  assert.equal(
    taskScalingClaim(
      { bcr: curve([50, 60, 70, 80], [0.9, 0.5, 0.2, 0.1]), single: curve([60, 45, 30, 20], [0.9, 0.8, 0.7, 0.6]) },
      T,
    ).verdict,
    "not held",
  );
});

test("task scaling: the monotonicity tolerance absorbs noise; unsorted N are sorted", () => {
  assert.ok(isMonotoneNonIncreasing([50, 50.9, 40], 0.02));
  assert.ok(!isMonotoneNonIncreasing([50, 51.1, 40], 0.02));
  assert.ok(!isMonotoneNonIncreasing([50, 50.1], 0));
  const c = taskScalingClaim(
    {
      bcr: curve([25, 50, 30, 40], [0.8, 0.9, 0.85, 0.88], [8, 1, 4, 2]),
      single: curve([60, 45, 30, 20], [0.9, 0.8, 0.6, 0.3]),
    },
    T,
  );
  assert.equal(c.verdict, "held");
  assert.equal(accuracyDrop(curve([1, 1], [0.5, 0.4], [2, 4]), curve([1, 1], [0.5, 0.4], [2, 4]), 8), null);
  // drop measured at the largest common N <= scalingMaxN
  assert.deepEqual(
    accuracyDrop(curve([3, 2, 1], [0.9, 0.8, 0.1], [1, 4, 16]), curve([3, 2, 1], [0.9, 0.5, 0], [1, 4, 16]), 8),
    { n: 4, a: 0.9 - 0.8, b: 0.9 - 0.5 },
  );
});

test("loops: held below sft with a CI below 0, partially when the CI includes 0, not held otherwise", () => {
  assert.equal(loopsClaim({ bcr: e(0.2, 0.1, 0.3), sft: e(1.5, 1.3, 1.7), diff: e(-1.3, -1.5, -1.1) }).verdict, "held");
  assert.equal(
    loopsClaim({ bcr: e(1.4, 1.2, 1.6), sft: e(1.5, 1.3, 1.7), diff: e(-0.1, -0.3, 0.1) }).verdict,
    "partially",
  );
  assert.equal(
    loopsClaim({ bcr: e(1.6, 1.4, 1.8), sft: e(1.5, 1.3, 1.7), diff: e(0.1, -0.1, 0.3) }).verdict,
    "not held",
  );
  assert.equal(loopsClaim(undefined).verdict, "not tested");
});

test("stability: held when linear collapsed and bcr did not; partially with one; not held with neither", () => {
  const s = (lin: number, bcr: number) =>
    stabilityClaim(
      { penalty: { method: "linear@5", collapsedSeeds: lin, seeds: 3 }, bcr: { collapsedSeeds: bcr, seeds: 3 } },
      T,
    ).verdict;
  assert.equal(s(3, 0), "held");
  assert.equal(s(2, 0), "held"); // 2/3 >= collapsedSeedShare 0.5
  assert.equal(s(1, 0), "partially"); // 1/3 < 0.5: linear not collapsed, bcr stable
  assert.equal(s(3, 3), "partially");
  assert.equal(s(0, 3), "not held");
  assert.equal(stabilityClaim({ penalty: null, bcr: { collapsedSeeds: 0, seeds: 3 } }, T).verdict, "not tested");
});

test("evaluateClaims: four claims in the paper's order; missing inputs are 'not tested'", () => {
  const cs = evaluateClaims({}, T);
  assert.deepEqual(
    cs.map((c) => [c.number, c.id, c.verdict]),
    [
      [1, "task_scaling", "not tested"],
      [2, "free_lunch", "not tested"],
      [3, "loops", "not tested"],
      [4, "stability", "not tested"],
    ],
  );
  for (const c of cs) assert.ok(c.paper.length > 0 && c.criterion.length > 0);
});

test("thresholds are config fields: a stricter free-lunch threshold changes the verdict", () => {
  const strict = ClaimThresholdsSchema.parse({ freeLunchMinReduction: 0.4 });
  const input = {
    tokenReduction: e(0.42, 0.35, 0.5),
    accuracyDiff: e(0, -0.01, 0.01),
    bcrTokens: 29,
    singleTokens: 50,
  };
  assert.equal(freeLunchClaim(input, T).verdict, "held");
  assert.equal(freeLunchClaim(input, strict).verdict, "partially");
});

test("configs: reproduce-essential.json spells out the schema defaults; reproduce-quick.json is valid and small", () => {
  const full = loadReproduceConfig("configs/reproduce-essential.json");
  // Its own folders, so that it never writes over the ladder run's.
  const folders = { name: "reproduce-essential", out: "docs/history/essential", runs: "runs/essential" };
  assert.deepEqual(full, { ...ReproduceConfigSchema.parse({}), ...folders });
  const quick = loadReproduceConfig("configs/reproduce-quick.json");
  assert.notEqual(quick.out, full.out);
  assert.notEqual(quick.runs, full.runs);
  assert.ok(quick.rl.steps <= 3 && quick.seeds.length === 1);
});

test("configs: reproduce-essential.json uses section positions and RL lr 1e-4; reproduce-learned.json is the earlier default before it (learned positions, lr 2e-4) in its own folders", () => {
  const full = loadReproduceConfig("configs/reproduce-essential.json");
  const learned = loadReproduceConfig("configs/reproduce-learned.json");
  assert.equal(full.sft.run.model.positions, "sections");
  assert.equal(full.rl.lr, 1e-4);
  assert.equal(
    learned.sft.run.model.positions,
    undefined,
    "no positions field: learned, and the hashes of docs/history/learned",
  );
  assert.equal(learned.rl.lr, 2e-4);
  assert.notEqual(learned.out, full.out);
  assert.notEqual(learned.runs, full.runs);
  // Everything else is the default run's, so the two differ only where the README says.
  const strip = (c: typeof full) => ({
    ...c,
    name: "",
    out: "",
    runs: "",
    rl: { ...c.rl, lr: 0 },
    sft: { ...c.sft, run: { ...c.sft.run, model: { ...c.sft.run.model, positions: undefined } } },
  });
  assert.deepEqual(strip(learned), strip(full));
});

test("configs: reproduce-sections-packs8.json is reproduce-essential.json with SFT packs of up to 8 (blockSize 768), single and bcr on seed 1", () => {
  const sections = loadReproduceConfig("configs/reproduce-essential.json");
  const packs8 = loadReproduceConfig("configs/reproduce-sections-packs8.json");
  assert.deepEqual(packs8.sft.groupSizes, [1, 1, 2, 3, 4, 6, 8]);
  assert.equal(packs8.sft.run.model.blockSize, 768, "the longest 8-pack SFT example is 739 tokens");
  assert.deepEqual(
    packs8.rl.methods.map((m) => m.kind),
    ["single", "bcr"],
  );
  assert.notEqual(packs8.out, sections.out);
  assert.notEqual(packs8.runs, sections.runs);
  const strip = (c: typeof sections) => ({
    ...c,
    name: "",
    out: "",
    runs: "",
    seeds: [],
    rl: { ...c.rl, methods: [] },
    sft: { ...c.sft, groupSizes: [], run: { ...c.sft.run, model: { ...c.sft.run.model, blockSize: 0 } } },
  });
  assert.deepEqual(strip(packs8), strip(sections));
});

test("configs: reproduce-sections-packs8-long.json is reproduce-sections-packs8.json plus a 400-step second SFT phase on the same packs, every method on 3 seeds", () => {
  const sections = loadReproduceConfig("configs/reproduce-essential.json");
  const packs8 = loadReproduceConfig("configs/reproduce-sections-packs8.json");
  const long = loadReproduceConfig("configs/reproduce-sections-packs8-long.json");
  const ext = long.sft.extend!;
  // The same examples as phase one (same groupSizes, count and seed), 400 more steps at lr 1e-3 -> 1e-4.
  assert.deepEqual([ext.groupSizes, ext.examples, ext.seed], [long.sft.groupSizes, long.sft.examples, long.sft.seed]);
  assert.deepEqual(ext.run.model, long.sft.run.model);
  assert.deepEqual(
    [ext.run.train.steps, ext.run.optim.lr, ext.run.optim.minLr, ext.run.optim.warmupSteps],
    [400, 1e-3, 1e-4, 20],
  );
  assert.deepEqual([long.seeds, long.rl.methods], [sections.seeds, sections.rl.methods]);
  for (const other of [sections, packs8]) {
    assert.notEqual(long.out, other.out);
    assert.notEqual(long.runs, other.runs);
  }
  const strip = (c: typeof packs8) => ({
    ...c,
    name: "",
    out: "",
    runs: "",
    seeds: [],
    rl: { ...c.rl, methods: [] },
    sft: { ...c.sft, extend: undefined },
  });
  assert.deepEqual(strip(long), strip(packs8));
});

test("configs: reproduce-sections-packs8-nlist.json is reproduce-sections-packs8-long.json with bcr trained on N drawn from [3, 4, 6] under the N=3 budget (117 tokens)", () => {
  const long = loadReproduceConfig("configs/reproduce-sections-packs8-long.json");
  const nlist = loadReproduceConfig("configs/reproduce-sections-packs8-nlist.json");
  assert.deepEqual(nlist.rl.bcr.n, [3, 4, 6]);
  assert.equal(nlist.rl.bcr.budget, 117, "the budget the N=3 runs derived: ceil(1.2 * 3 * 32.3)");
  assert.notEqual(nlist.out, long.out);
  assert.notEqual(nlist.runs, long.runs);
  const strip = (c: typeof long) => ({
    ...c,
    name: "",
    out: "",
    runs: "",
    rl: { ...c.rl, bcr: { n: 0, budgetFactor: 0 } },
  });
  assert.deepEqual(strip(nlist), strip(long));
});

test("configs: reproduce-sections-packs8-n8.json is reproduce-sections-packs8-nlist.json with N drawn from [3, 4, 6, 8]", () => {
  const nlist = loadReproduceConfig("configs/reproduce-sections-packs8-nlist.json");
  const n8 = loadReproduceConfig("configs/reproduce-sections-packs8-n8.json");
  assert.deepEqual(n8.rl.bcr.n, [3, 4, 6, 8]);
  assert.equal(n8.rl.bcr.budget, 117);
  assert.notEqual(n8.out, nlist.out);
  assert.notEqual(n8.runs, nlist.runs);
  const strip = (c: typeof nlist) => ({
    ...c,
    name: "",
    out: "",
    runs: "",
    rl: { ...c.rl, bcr: { ...c.rl.bcr, n: 0 } },
  });
  assert.deepEqual(strip(n8), strip(nlist));
  // Same data and SFT stages; the RL stage differs (of its runs, only bcr's configs change).
  const [a, b] = [stageHashes(nlist), stageHashes(n8)];
  assert.deepEqual([a.data, a.sft], [b.data, b.sft]);
  assert.notEqual(a.rl, b.rl);
});

test("stability with lambda*: judged only on linear penalties at or below it; says so when none of them collapses", () => {
  const lin = (lambda: number, collapsedSeeds: number) => ({
    method: `linear@${lambda}`,
    lambda,
    collapsedSeeds,
    seeds: 3,
  });
  const bcr = { collapsedSeeds: 0, seeds: 3 };
  // lambda* 4.63 (rigor.md's example): linear@5 collapsed, but that is the reward's optimum.
  const c = stabilityClaim(
    { penalty: lin(5, 3), bcr, linear: [lin(0.5, 0), lin(1, 0), lin(2, 0), lin(5, 3)], lambdaStar: 4.63 },
    T,
  );
  assert.equal(c.verdict, "partially");
  assert.match(c.measurement, /no linear penalty at or below lambda\* collapsed/);
  assert.match(c.measurement, /not judged, above lambda\*.*linear@5: 3\/3/);
  assert.match(c.criterion, /here 4\.63/);
  // A collapse at lambda = 2 <= lambda* counts.
  assert.equal(
    stabilityClaim({ penalty: lin(5, 3), bcr, linear: [lin(1, 0), lin(2, 2), lin(5, 3)], lambdaStar: 4.63 }, T).verdict,
    "held",
  );
  // Only penalties above lambda*: not tested, and it says why.
  const above = stabilityClaim({ penalty: lin(5, 3), bcr, linear: [lin(5, 3)], lambdaStar: 4.63 }, T);
  assert.equal(above.verdict, "not tested");
  assert.match(above.measurement, /no linear penalty at or below it was run/);
  // lambda* unknown: judged on the strongest, as before, with the caveat in the measurement.
  const unknown = stabilityClaim(
    { penalty: lin(5, 3), bcr, linear: [lin(5, 3)], lambdaStar: null, lambdaStarReason: "no styles" },
    T,
  );
  assert.equal(unknown.verdict, "held");
  assert.match(unknown.measurement, /lambda\* unknown \(no styles\)/);
});

test("configs: reproduce.json, the default run, is the decisive run of issue 20 (ladder SFT mix, packs 1-8, N drawn from a set, controls, 3 seeds, 256 problems, hierarchical CIs) and validates", () => {
  const ladder = loadReproduceConfig("configs/reproduce.json");
  const full = loadReproduceConfig("configs/reproduce-essential.json");
  assert.deepEqual(ladder.sft.groupSizes, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok((ladder.sft.mix.terse ?? 0) > 0 && (ladder.sft.mix.bare ?? 0) > 0, "every rung of the ladder in SFT");
  assert.ok(ladder.sft.run.model.blockSize >= 768);
  assert.deepEqual(ladder.rl.bcr.n, [1, 2, 3, 4, 6, 8]);
  assert.deepEqual(ladder.eval.ns, [1, 2, 3, 4, 6, 8]);
  assert.equal(ladder.eval.sweepBudget, ladder.rl.bcr.budget, "one fixed total budget, in training and in the sweep");
  assert.ok(ladder.seeds.length >= 3 && ladder.eval.problems >= 256);
  assert.equal(ladder.eval.greedy, true);
  assert.equal(ladder.analysis.ci, "hierarchical");
  // The controls: single at bcr's per-problem budget, the linear penalty at 0.5, 1, 2, 5.
  const derived = derive(ladder, {
    meanEssentialTokens: 32.3,
    meanRedundantTokens: 65,
    meanShortcutTokens: 5,
    sftExamples: 1,
    sftStyleShares: {},
  });
  const labels = ladder.rl.methods.map((m) => rlConfigFor(ladder, m, 1, derived, "runs/x/sft").method);
  assert.deepEqual(labels, ["single", "bcr", "single@b40", "linear@0.5", "linear@1", "linear@2", "linear@5"]);
  assert.notEqual(ladder.out, full.out);
  assert.notEqual(ladder.runs, full.runs);
  // Its own data and SFT stages; every config's hashes are pinned in tests/reproduce/configs.test.ts.
  assert.notEqual(stageHashes(ladder).data, stageHashes(full).data);
});
