import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { bootstrapDiffCI, bootstrapMeanCI } from "../../src/analysis/bootstrap.js";
import { hierarchicalDiffCI, hierarchicalMeanCI } from "../../src/analysis/hierarchical.js";
import { analyze, sftLambdaStar } from "../../src/reproduce/analysis.js";
import { ReproduceConfigSchema } from "../../src/reproduce/config.js";
import { derive } from "../../src/reproduce/budget.js";
import type { ModelEval, N1EvalRow } from "../../src/reproduce/eval.js";
import { layout } from "../../src/reproduce/layout.js";
import { planRuns, rlConfigFor } from "../../src/reproduce/rl.js";
import { buildClaimsJson, GREEDY_MISSING } from "../../src/reproduce/report.js";
import { RlConfigSchema } from "../../src/rl/config.js";
import { Rng } from "../../src/util/rng.js";

const P = 40;
const ids = Array.from({ length: P }, (_, i) => `p${String(i).padStart(3, "0")}`);

/** One model's eval: problem difficulty shared by every model, a per-seed offset, noise. */
function model(
  method: string,
  seed: number | null,
  acc: number,
  tokens: number,
  rng: Rng,
  opts: { greedy?: boolean; styles?: (i: number) => N1EvalRow["style"] } = {},
): ModelEval {
  const rows = (shift: number): N1EvalRow[] =>
    ids.map((problemId, i) => ({
      problemId,
      correct: rng.next() < acc - (i % 4) * 0.05,
      tokens: Math.round(tokens + shift + 5 * rng.normal()),
      loops: 0,
      truncated: false,
      ...(opts.styles ? { style: opts.styles(i) } : {}),
    }));
  return {
    method,
    seed,
    checkpoint: "x",
    step: 40,
    n1: rows(seed === null ? 0 : 4 * (seed - 2)),
    ...(opts.greedy ? { n1Greedy: rows(-3) } : {}),
    sweep: [1, 2].flatMap((n) =>
      ids.map((problemId, i) => ({
        n,
        group: Math.floor(i / n),
        position: (i % n) + 1,
        problemId,
        correct: rng.next() < acc,
        tokens: tokens / n + (seed ?? 0),
        truncated: false,
        failed: false,
      })),
    ),
  };
}

function evals(opts: { greedy?: boolean; styles?: boolean } = {}): ModelEval[] {
  const rng = new Rng(9);
  // The SFT model writes traces (30 tokens, right 80%) on most problems, a bare guess (5 tokens) on every 5th.
  const sftStyles = (i: number) => (i % 5 === 0 ? "shortcut" : "essential") as N1EvalRow["style"];
  const sft = model("sft", null, 0.8, 30, rng, { greedy: opts.greedy, ...(opts.styles ? { styles: sftStyles } : {}) });
  // its guesses: 5 tokens, right on 2 of 8
  sft.n1 = sft.n1.map((r, i) => (r.style === "shortcut" ? { ...r, tokens: 5, correct: i % 20 === 0 } : r));
  return [
    sft,
    ...[1, 2, 3].flatMap((s) => [
      model("single", s, 0.9, 48, rng, { greedy: opts.greedy }),
      model("bcr", s, 0.9, 31, rng, { greedy: opts.greedy }),
      model("single@b39", s, 0.8, 29, rng, { greedy: opts.greedy }),
    ]),
  ];
}

const byProblemMean = (es: ModelEval[], v: (r: N1EvalRow) => number) =>
  ids.map((id) => {
    const xs = es.flatMap((e) => e.n1.filter((r) => r.problemId === id).map(v));
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  });

test("analyze, ci 'problems' (the default): the same intervals as before (seeds averaged per problem, problems bootstrapped)", () => {
  const config = ReproduceConfigSchema.parse({ analysis: { bootstrap: 300 } });
  const es = evals();
  const a = analyze(es, [], config);
  assert.equal(a.ciMethod, "problems");
  const opts = { seed: config.analysis.seed, resamples: 300 };
  const single = es.filter((e) => e.method === "single");
  assert.deepEqual(
    { mean: a.methods.single!.n1.tokens_per_problem.mean, ci: a.methods.single!.n1.tokens_per_problem.ci },
    bootstrapMeanCI(
      byProblemMean(single, (r) => r.tokens),
      opts,
    ),
  );
  const bcr = es.filter((e) => e.method === "bcr");
  const d = bootstrapDiffCI(
    byProblemMean(bcr, (r) => Number(r.correct)),
    byProblemMean(single, (r) => Number(r.correct)),
    { ...opts, paired: true },
  );
  const c = a.comparisons.find((x) => x.a === "bcr" && x.b === "single")!;
  assert.deepEqual(c.accuracyDiff, { mean: d.diff, ci: d.ci });
});

test("analyze, ci 'hierarchical': seeds then problems, wider than problems-only when seeds differ; bcr is compared with single@b<k>", () => {
  const config = ReproduceConfigSchema.parse({ analysis: { bootstrap: 300, ci: "hierarchical" } });
  const es = evals();
  const a = analyze(es, [], config);
  assert.equal(a.ciMethod, "hierarchical");
  const opts = { seed: config.analysis.seed, resamples: 300 };
  const single = es.filter((e) => e.method === "single"),
    bcr = es.filter((e) => e.method === "bcr");
  const matrix = (m: ModelEval[], v: (r: N1EvalRow) => number) =>
    m.map((e) => ids.map((id) => v(e.n1.find((r) => r.problemId === id)!)));
  const h = hierarchicalMeanCI(
    matrix(single, (r) => r.tokens),
    opts,
  );
  const t = a.methods.single!.n1.tokens_per_problem;
  assert.deepEqual({ mean: t.mean, ci: t.ci }, h);
  // seed offsets of -4, 0, +4 tokens: the hierarchical interval is wider than the problems-only one
  const flat = analyze(es, [], ReproduceConfigSchema.parse({ analysis: { bootstrap: 300 } })).methods.single!.n1
    .tokens_per_problem;
  assert.ok(t.ci[1] - t.ci[0] > 1.5 * (flat.ci[1] - flat.ci[0]), `${t.ci} vs ${flat.ci}`);
  const d = hierarchicalDiffCI(
    matrix(bcr, (r) => r.tokens),
    matrix(single, (r) => r.tokens),
    opts,
  );
  const c = a.comparisons.find((x) => x.a === "bcr" && x.b === "single")!;
  assert.ok(Math.abs(c.tokenReduction.mean - -d.diff / c.bTokens) < 1e-12);
  assert.deepEqual(
    a.comparisons.map((x) => `${x.a} vs ${x.b}`),
    ["bcr vs single", "bcr vs single@b39", "bcr vs sft", "single vs sft"],
  );
  // sweep points too: per seed, per problem
  assert.ok(
    a.methods.single!.sweep[0]!.tokens_per_problem.ci[1] > a.methods.single!.sweep[0]!.tokens_per_problem.ci[0],
  );
});

test("greedy numbers sit beside the sampled ones when greedy rows exist; claims.json says so when they do not", () => {
  const config = ReproduceConfigSchema.parse({ analysis: { bootstrap: 100 } });
  const without = analyze(evals(), [], config);
  assert.equal(without.methods.bcr!.n1.greedy, null);
  const meta = { backend: "cpu", cores: 2, cpu: "x", wall: { total: 1 }, seeds: [1, 2, 3] };
  const cj = buildClaimsJson(without, meta) as {
    methods: Record<string, { n1: Record<string, unknown> }>;
    ci_method: string;
    lambda_star: unknown;
    lambda_star_detail: { reason: string };
  };
  assert.equal(cj.methods.bcr!.n1.greedy, null);
  assert.equal(cj.methods.bcr!.n1.greedy_missing, GREEDY_MISSING);
  assert.equal(cj.ci_method, "problems");
  assert.equal(cj.lambda_star, null);
  assert.match(cj.lambda_star_detail.reason, /no trace style/);
  // the contract keys are all still there
  for (const k of ["backend", "cores", "wall_s", "seeds", "methods", "comparisons", "claims"]) assert.ok(k in cj, k);
  for (const k of ["accuracy", "tokens_per_problem", "problems"]) assert.ok(k in cj.methods.bcr!.n1, k);

  const withGreedy = analyze(evals({ greedy: true }), [], config);
  const g = withGreedy.methods.bcr!.n1.greedy!;
  // the greedy rows were drawn 3 tokens shorter than the sampled ones
  assert.ok(
    Math.abs(g.tokens_per_problem.mean - (withGreedy.methods.bcr!.n1.tokens_per_problem.mean - 3)) < 2,
    `${g.tokens_per_problem.mean}`,
  );
  const cj2 = buildClaimsJson(withGreedy, meta) as {
    methods: Record<string, { n1: { greedy: { accuracy: { mean: number } } } }>;
  };
  assert.equal(cj2.methods.bcr!.n1.greedy.accuracy.mean, g.accuracy.mean);
});

test("lambda* from the SFT model's own responses, by trace style: the largest per-form threshold; null with a reason when styles or responses are missing", () => {
  const es = evals({ styles: true });
  const sft = es.filter((e) => e.method === "sft");
  const s = sftLambdaStar(sft, 128);
  const rows = sft[0]!.n1;
  const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const of = (rs: N1EvalRow[]) => ({ acc: m(rs.map((r) => Number(r.correct))), tok: m(rs.map((r) => r.tokens)) });
  const traced = of(rows.filter((r) => r.style === "essential")),
    guess = of(rows.filter((r) => r.style === "shortcut"));
  const expected = (128 * (traced.acc - guess.acc)) / (traced.tok - guess.tok);
  assert.ok(s.value !== null && Math.abs(s.value - expected) < 1e-12, `${s.value} vs ${expected}`);
  assert.equal(s.correct!.style, "essential");
  assert.equal(s.guess!.responses, P / 5);
  const a = analyze(es, [], ReproduceConfigSchema.parse({ analysis: { bootstrap: 50 } }));
  assert.equal(a.lambdaStar.value, s.value);
  assert.equal(a.lambdaStar.budget, 128, "the penalty runs' budget, rl.singleBudget");
  // A shorter, as accurate form (terse) stays ahead of the guess longer: it sets lambda*.
  const withTerse = rows.map((r, i) =>
    r.style === "essential" && i % 2 === 0 ? { ...r, style: "terse" as const, tokens: r.tokens - 14 } : r,
  );
  const t = sftLambdaStar([{ ...sft[0]!, n1: withTerse }], 128);
  assert.equal(t.correct!.style, "terse");
  const terse = of(withTerse.filter((r) => r.style === "terse"));
  assert.ok(Math.abs(t.value! - (128 * (terse.acc - guess.acc)) / (terse.tok - guess.tok)) < 1e-12);
  assert.match(
    sftLambdaStar([{ ...sft[0]!, n1: rows.filter((r) => r.style !== "shortcut") }], 128).reason!,
    /wrote 0 answer-only/,
  );
  assert.equal(sftLambdaStar(undefined, 128).value, null);
  assert.equal(s.guess!.source, "sampled");
});

test("lambda*: with too few sampled guesses, the guess is the ladder's forced answer-only row (hand-worked on the ladder run's numbers)", () => {
  const sft = evals({ styles: true }).filter((e) => e.method === "sft");
  const noGuesses = sft[0]!.n1.filter((r) => r.style !== "shortcut");
  const traced = noGuesses.filter((r) => r.style === "essential");
  const acc = traced.filter((r) => r.correct).length / traced.length;
  const tok = traced.reduce((a, r) => a + r.tokens, 0) / traced.length;
  const ladder = [
    {
      form: "essential",
      how: "forced" as const,
      responses: 256,
      accuracy: 0.852,
      tokensPerProblem: 28.7,
      stepsRight: 1,
    },
    { form: "shortcut", how: "forced" as const, responses: 256, accuracy: 0.195, tokensPerProblem: 5, stepsRight: NaN },
  ];
  const s = sftLambdaStar([{ ...sft[0]!, n1: noGuesses, ladder }], 128);
  assert.equal(s.guess!.source, "ladder-forced");
  assert.deepEqual([s.guess!.accuracy, s.guess!.tokens, s.guess!.responses], [0.195, 5, 256]);
  // lambda* = 128 x (acc - 0.195) / (tok - 5), the traced form still from the sampled rows.
  assert.ok(Math.abs(s.value! - (128 * (acc - 0.195)) / (tok - 5)) < 1e-12, `${s.value}`);
  assert.equal(s.correct!.style, "essential");
  // A forced row with too few responses, or none, leaves lambda* unknown with the reason.
  const few = [{ ...ladder[1]!, responses: 3 }];
  assert.match(sftLambdaStar([{ ...sft[0]!, n1: noGuesses, ladder: few }], 128).reason!, /no forced answer-only/);
});

test("single@b<k>: a single run at bcr's per-problem budget, labelled by it; only single runs may set a budget", () => {
  const config = ReproduceConfigSchema.parse({
    rl: {
      methods: [
        { kind: "single" },
        { kind: "bcr" },
        { kind: "single", budget: "bcr-per-problem" },
        { kind: "single", budget: 50 },
      ],
    },
  });
  const derived = derive(config, {
    meanEssentialTokens: 32.3,
    meanRedundantTokens: 65,
    meanShortcutTokens: 5,
    sftExamples: 1,
    sftStyleShares: {},
  });
  assert.equal(derived.bcrBudget, 117);
  const L = layout("runs/x", "results/x");
  const cfgs = config.rl.methods.map((m) => rlConfigFor(config, m, 1, derived, L.sft));
  assert.deepEqual(
    cfgs.map((c) => [c.method, c.kind, c.sampling.budget]),
    [
      ["single", "single", 128],
      ["bcr", "bcr", 117],
      ["single@b39", "single", 39],
      ["single@b50", "single", 50],
    ],
  );
  for (const c of cfgs) assert.deepEqual(RlConfigSchema.parse(JSON.parse(JSON.stringify(c))), c);
  assert.deepEqual(
    planRuns(config, L, derived)
      .map((p) => p.dir)
      .slice(6, 7),
    [path.join("runs/x", "rl", "single@b39", "seed-1")],
  );
  assert.throws(
    () => ReproduceConfigSchema.parse({ rl: { methods: [{ kind: "bcr", budget: 40 }] } }),
    /budget[\s\S]*kind 'single'/,
  );
});

test("the ladder table: the SFT model's rows reach analysis and report tables (steps right blank where none were written); absent without a ladder mix", async () => {
  const { tables } = await import("../../src/reproduce/report.js");
  const { hasLadder } = await import("../../src/reproduce/eval.js");
  const { loadConfig } = await import("../../src/util/config.js");
  assert.equal(hasLadder(loadConfig("configs/reproduce.json", ReproduceConfigSchema)), true);
  assert.equal(hasLadder(loadConfig("configs/reproduce-essential.json", ReproduceConfigSchema)), false);
  const config = ReproduceConfigSchema.parse({ analysis: { bootstrap: 50 } });
  const es = evals();
  assert.equal(analyze(es, [], config).ladder, null);
  assert.equal(tables(analyze(es, [], config)).ladder, undefined);
  // as eval.json stores it: a NaN stepsRight is written as null
  const ladder = JSON.parse(
    JSON.stringify([
      { form: "essential", how: "forced", responses: 40, accuracy: 0.95, tokensPerProblem: 31.25, stepsRight: 0.99 },
      { form: "shortcut", how: "forced", responses: 40, accuracy: 0.1, tokensPerProblem: 2, stepsRight: NaN },
    ]),
  );
  es[0]!.ladder = ladder;
  const a = analyze(es, [], config);
  assert.deepEqual(a.ladder, ladder);
  assert.deepEqual(tables(a).ladder, [
    { form: "essential", how: "forced", responses: 40, accuracy: 0.95, tokens_per_problem: 31.3, steps_right: 0.99 },
    { form: "shortcut", how: "forced", responses: 40, accuracy: 0.1, tokens_per_problem: 2, steps_right: null },
  ]);
});
