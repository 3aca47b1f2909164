// The study's judge on hand-made rows (claims 1 and 2, the sharing question, a failed gate), and
// the forced-bare gate on a fake model.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Completion, CompletionModel, CompletionRequest } from "../../src/model/completion.js";
import { RulesSchema } from "../../src/study/config.js";
import { forcedBareAccuracy } from "../../src/study/gate.js";
import { judgeExperiment } from "../../src/study/judge.js";
import type { RowsArchive, RowsMeta, StudyRow } from "../../src/study/rows.js";
import { deriveSeed } from "../../src/util/rng.js";
import { handMadeMeta } from "./fixtures.js";

const rules = RulesSchema.parse({ nonInferiorityMargin: 0.05, marginSource: "test", bootstrap: 300 });
const SFT = [1, 2, 3],
  RL = [1, 2],
  SAMPLES = [0, 1, 2, 3];
const problems = Array.from({ length: 48 }, (_, i) => ({ id: `p${i}`, level: 5 + (i % 4) }));

/** 0/1 with probability p, fixed by its named parts (a deterministic "draw"). */
const bernoulli = (p: number, ...parts: (string | number)[]) => Number(deriveSeed(...parts) / 2 ** 53 < p);

function rowsOf(
  arm: string,
  set: StudyRow["set"],
  n: number,
  f: (p: { id: string; level: number }, sft: number, rl: number, s: number) => { correct: number; tokens: number },
): StudyRow[] {
  const rls: (number | "-")[] = arm === "sft" ? ["-"] : RL;
  return SFT.flatMap((sft) =>
    rls.flatMap((rl) =>
      problems.flatMap((p, i) =>
        SAMPLES.map((sample) => ({
          arm,
          sft,
          rl,
          set,
          n,
          group: Math.floor(i / n),
          pos: (i % n) + 1,
          problem: p.id,
          level: p.level,
          sample,
          truncated: 0,
          loops: set === "sweep" ? null : 0,
          ...f(p, sft, rl === "-" ? 0 : rl, sample),
        })),
      ),
    ),
  );
}

const meta = (over: Partial<RowsMeta> = {}): RowsMeta => handMadeMeta(SFT, problems.length, over);

test("claim 2 held when bcr is shorter at equal accuracy; claim 1 held on a falling token curve, partially on a flat one", () => {
  const noise = (sft: number, rl: number, s: number) => ((sft * 7 + rl * 3 + s) % 5) - 2;
  const n1 = (tokens: number) => (p: { id: string }, sft: number, rl: number, s: number) => ({
    correct: bernoulli(0.8, p.id, sft, rl, s),
    tokens: tokens + noise(sft, rl, s),
  });
  const rows = [...rowsOf("bcr", "n1", 1, n1(20)), ...rowsOf("single", "n1", 1, n1(40))];
  const ns = [1, 2, 4, 8];
  const sweep = (arm: string, tokens: (n: number) => number, acc: (n: number) => number) =>
    ns.flatMap((n) =>
      rowsOf(arm, "sweep", n, (p, sft, rl, s) => ({
        correct: bernoulli(acc(n), arm, n, p.id, sft, rl, s),
        tokens: tokens(n) + noise(sft, rl, s),
      })),
    );
  const single = sweep(
    "single",
    () => 40,
    (n) => 0.9 - 0.09 * (n - 1),
  );
  const falling = [
    ...rows,
    ...single,
    ...sweep(
      "bcr",
      (n) => 30 / Math.sqrt(n),
      (n) => 0.9 - 0.02 * (n - 1),
    ),
  ];
  const j = judgeExperiment({ meta: meta(), rows: falling }, { claims: ["2", "1"], rules });
  const [c2, c1] = j.claims;
  assert.equal(c2!.verdict, "held", c2!.figure);
  assert.match(c2!.figure, /token reduction 0\.5/);
  assert.equal(c1!.verdict, "held", c1!.figure);
  assert.match(c1!.figure, /48 problems present at every N/);
  const flat = [
    ...rows,
    ...single,
    ...sweep(
      "bcr",
      () => 30,
      (n) => 0.9 - 0.02 * (n - 1),
    ),
  ];
  const f = judgeExperiment({ meta: meta(), rows: flat }, { claims: ["1"], rules }).claims[0]!;
  assert.equal(f.verdict, "partially", f.figure);
  assert.match(f.figure, /slope not held/);
  // A gate failed on a majority of SFT seeds: every claim is "gate failed", with the gate's figure.
  const failed = judgeExperiment({ meta: meta({ gatePassed: false }), rows: [] }, { claims: ["2", "1"], rules });
  assert.deepEqual(
    failed.claims.map((c) => c.verdict),
    ["gate failed", "gate failed"],
  );
  assert.match(failed.claims[0]!.figure, /recheck_share 0\.6 \/ 0\.6 \/ 0\.6 \(needs >= 0\.5\)/);
  assert.deepEqual(failed.frontier, { diff: null, ci: null });
});

test("sharing: held when the shared budget moves tokens to hard problems and buys accuracy there; bcr-split scored by its cap", () => {
  const difficulty = { easy: [5, 6], hard: [7, 8] };
  const hard = (p: { level: number }) => p.level >= 7;
  // bcr: 45 tokens on hard, 15 on easy; bcr-split: 30 and 25, its hard answers over the cap (140/4 = 35) when long.
  const bcr = rowsOf("bcr", "sweep", 4, (p, sft, rl, s) => ({
    correct: bernoulli(hard(p) ? 0.8 : 0.9, "b", p.id, sft, rl, s),
    tokens: hard(p) ? 45 : 15,
  }));
  const split = rowsOf("bcr-split", "sweep", 4, (p, sft, rl, s) => ({
    correct: bernoulli(hard(p) ? 0.8 : 0.9, "s", p.id, sft, rl, s),
    tokens: hard(p) ? (s < 2 ? 30 : 36) : 25,
  }));
  const n1 = rowsOf("bcr", "n1", 1, () => ({ correct: 1, tokens: 20 }));
  const archive: RowsArchive = { meta: meta(), rows: [...n1, ...bcr, ...split] };
  const j = judgeExperiment(archive, { claims: ["sharing"], rules, difficulty });
  const c = j.claims[0]!;
  assert.equal(c.verdict, "held", c.figure);
  assert.match(c.figure, /N=4, 24 hard and 24 easy problems/);
  assert.ok(j.notes.some((n) => /bcr-split at N=4 \(budget 140, cap 35 per problem\)/.test(n)));
  // The same rows for both arms: neither half holds.
  const same = rowsOf("bcr-split", "sweep", 4, (p, sft, rl, s) => ({
    correct: bernoulli(hard(p) ? 0.8 : 0.9, "b", p.id, sft, rl, s),
    tokens: hard(p) ? 45 : 15,
  }));
  const k = judgeExperiment(
    { meta: meta({ budgets: { n1: 160, sweep: 400, bcr: {} } }), rows: [...n1, ...bcr, ...same] },
    { claims: ["sharing"], rules, difficulty },
  ).claims[0]!;
  assert.equal(k.verdict, "not held", k.figure);
});

/** Answers every section with `A5` after the forced digit; offers letters and digits for the first token. */
class FakeBare implements CompletionModel {
  readonly name = "fake";
  readonly asked: CompletionRequest[] = [];
  async complete(reqs: CompletionRequest[]): Promise<Completion[]> {
    this.asked.push(...reqs);
    return reqs.map((r) => {
      if (r.maxTokens === 1 && r.logprobs)
        return {
          text: "a",
          completionTokens: 1,
          finishReason: "length",
          tokensEstimated: false,
          logprobs: [
            {
              token: "a",
              logprob: -0.1,
              top: [
                { token: "a", logprob: -0.1 },
                { token: "7", logprob: -3 },
                { token: "A", logprob: -4 },
                { token: "4", logprob: -5 },
              ],
            },
          ],
        };
      const text = r.stop ? " A5 " : " A5";
      const cut = text.slice(0, r.maxTokens);
      return {
        text: cut,
        completionTokens: cut.length,
        finishReason: cut.length < text.length ? "length" : "stop",
        tokensEstimated: false,
      };
    });
  }
}

test("forced bare: every section starts with a digit drawn from the model's own digits, seeds differ per request", async () => {
  const problems = Array.from({ length: 8 }, (_, i) => ({
    id: `q${i}`,
    question: "2+3",
    answer: i < 6 ? "5" : "6",
    difficulty: 5,
  }));
  const m = new FakeBare();
  const r = await forcedBareAccuracy(m, problems, 2, { samples: 2, budget: 100, seed: 0 });
  assert.equal(r.packs, 4 * 2);
  assert.equal(r.accuracy, 6 / 8, "the two problems whose answer is not 5 are wrong");
  const heads = m.asked.filter((q) => q.maxTokens === 1);
  assert.equal(heads.length, 8 * 2, "one digit draw per section");
  assert.ok(heads.every((q) => q.temperature === 1 && q.logprobs));
  const rest = m.asked.filter((q) => q.maxTokens > 1);
  assert.ok(
    rest.every((q) => /[0-9]$/.test(q.prompt)),
    "free writing starts after a digit",
  );
  assert.ok(
    rest.some((q) => /1:[47] A5 2:[47]$/.test(q.prompt)),
    "the second section is forced too",
  );
  assert.equal(new Set(m.asked.map((q) => q.seed)).size, m.asked.length, "no two requests share a seed");
  // A budget too small for the second section: truncated, its problem unanswered.
  const t = await forcedBareAccuracy(new FakeBare(), problems.slice(0, 2), 2, { samples: 1, budget: 8, seed: 0 });
  assert.equal(t.truncated, 1);
  assert.equal(t.accuracy, 0.5);
});
