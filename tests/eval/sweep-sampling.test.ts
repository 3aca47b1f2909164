/**
 * Temperature > 0 evaluation draws independent samples: every request has its own seed, derived
 * from named parts, so no two requests share a sampling stream, and a re-run asks the same streams.
 * With one seed for every request (the defect this guards against), every problem with the same
 * first-token distribution took the same first token: common random numbers, not samples.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Problem } from "../../src/bcr/index.js";
import { initBackend } from "../../src/engine/backend.js";
import { parseBudget, sweepN } from "../../src/eval/sweep.js";
import type { Completion, CompletionModel, CompletionRequest } from "../../src/model/completion.js";
import { GPT } from "../../src/model/gpt.js";
import { LocalModel, type SamplingModel } from "../../src/model/local-model.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { evaluatePolicy } from "../../src/rl/evaluate.js";
import type { Uniform } from "../../src/util/rng.js";
import { tempDir } from "../helpers/tmp.js";
import { RecordingModel } from "./fakes.js";

const tok = new CharTokenizer();
const quiet = { progress: false as const, bootstrapResamples: 100 };
const problems: Problem[] = Array.from({ length: 24 }, (_, i) => ({
  id: `p${i}`,
  question: `${i % 9}+${i % 5}`,
  answer: String((i % 9) + (i % 5)),
  difficulty: i % 3,
}));
const echo = (r: CompletionRequest) => `1:${r.seed}`;

test("sweepN: every sampled request has its own seed; a re-run asks the same seeds; rows carry the sample", async () => {
  const m = new RecordingModel(echo);
  const settings = { problems, ns: [1, 2, 3], budget: parseBudget("fixed:64"), seed: 5, temperature: 1, ...quiet };
  const { rows, summary } = await sweepN({ ...settings, model: m, samples: 3, outDir: tempDir("bcr-samp-") });
  // groups: 24 at N=1 (rotations 1), 12*2 at N=2, 8*3 at N=3 (full Latin squares), 3 draws each
  assert.equal(m.asked.length, (24 + 24 + 24) * 3);
  const seeds = m.asked.map((r) => r.seed);
  assert.ok(seeds.every((s) => Number.isSafeInteger(s)));
  assert.equal(new Set(seeds).size, seeds.length, "two requests shared a seed");
  assert.deepEqual(summary.samples, 3);
  assert.deepEqual([...new Set(rows.map((r) => r.sample))].sort(), [0, 1, 2], "rows carry the sample index");
  for (const p of summary.perN) assert.equal(p.samples, 3);

  // The same settings in a fresh folder ask exactly the same seeds (reproducible byte for byte)...
  const again = new RecordingModel(echo);
  await sweepN({ ...settings, model: again, samples: 3, outDir: tempDir("bcr-samp-") });
  assert.deepEqual(
    again.asked.map((r) => r.seed),
    seeds,
  );
  // ...another stream name (another evaluation of the same model) draws other samples...
  const other = new RecordingModel(echo);
  await sweepN({ ...settings, model: other, samples: 3, stream: "n1", outDir: tempDir("bcr-samp-") });
  const shared = other.asked.filter((r) => seeds.includes(r.seed));
  assert.equal(shared.length, 0, "the n1 stream reused the sweep's seeds");
  // ...and another model name too (the method and RL seed are in the model's name).
  const named = new RecordingModel(echo, "bcr/seed-1");
  await sweepN({ ...settings, model: named, samples: 3, outDir: tempDir("bcr-samp-") });
  assert.equal(named.asked.filter((r) => seeds.includes(r.seed)).length, 0);
});

test("sweepN: greedy is asked once per group whatever samples says; bad samples is an error", async () => {
  const m = new RecordingModel(echo);
  const { summary } = await sweepN({
    model: m,
    problems,
    ns: [1],
    budget: parseBudget("fixed:64"),
    seed: 1,
    temperature: 0,
    samples: 4,
    outDir: tempDir("bcr-samp-"),
    ...quiet,
  });
  assert.equal(m.asked.length, 24);
  assert.equal(summary.samples, 1);
  await assert.rejects(
    sweepN({
      model: m,
      problems,
      ns: [1],
      budget: parseBudget("fixed:64"),
      temperature: 1,
      samples: 0,
      outDir: tempDir("bcr-samp-"),
      ...quiet,
    }),
    /samples must be a positive integer, got 0/,
  );
});

test("sweepN: cache records drawn before per-request seeds are not reused", async () => {
  const out = tempDir("bcr-samp-");
  const settings = { problems: problems.slice(0, 4), ns: [1], budget: parseBudget("fixed:64"), temperature: 1 };
  await sweepN({ ...settings, model: new RecordingModel(echo), outDir: out, ...quiet });
  // Rewrite the cache as the old format had it: no stream, no sample in the key.
  const file = path.join(out, "cache.jsonl");
  const old = fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const rec = JSON.parse(l);
      delete rec.key.stream;
      delete rec.key.sample;
      return JSON.stringify(rec);
    });
  fs.writeFileSync(file, `${old.join("\n")}\n`);
  const m = new RecordingModel(echo);
  const { summary } = await sweepN({ ...settings, model: m, outDir: out, ...quiet });
  assert.equal(m.asked.length, 4);
  assert.equal(summary.cached, 0);
});

test("sweepN on a real GPT: first-token frequencies at temperature 1 fall inside binomial bounds", async () => {
  await initBackend();
  const gpt = new GPT({
    vocabSize: tok.vocabSize,
    blockSize: 96,
    nEmbd: 16,
    nLayer: 1,
    nHead: 2,
    dropout: 0,
    seed: 11,
  });
  try {
    const local = new LocalModel({ model: gpt, tokenizer: tok, name: "tiny" });
    // K problems with one question: every request has the same first-token distribution.
    const K = 400;
    const same: Problem[] = Array.from({ length: K }, (_, i) => ({ id: `q${i}`, question: "3+4", answer: "7" }));
    // The model's own first-token distribution for that prompt, every token's probability.
    const recorded: Completion[] = [];
    const recording: CompletionModel = {
      name: "tiny",
      complete: async (reqs, o) => {
        const out = await local.complete(reqs, o);
        recorded.push(...out);
        return out;
      },
    };
    const { rows } = await sweepN({
      model: recording,
      problems: same,
      ns: [1],
      budget: parseBudget("fixed:2"),
      seed: 0,
      temperature: 1,
      outDir: tempDir("bcr-samp-"),
      ...quiet,
    });
    assert.equal(rows.length, K);
    const { packProblems } = await import("../../src/bcr/index.js");
    const [probe] = await local.complete([
      { prompt: packProblems([same[0]!]).text, maxTokens: 1, temperature: 1, seed: 1, logprobs: tok.vocabSize },
    ]);
    const dist = probe!.logprobs![0]!.top.map((a) => ({ token: a.token, p: Math.exp(a.logprob) }));
    const total = dist.reduce((s, a) => s + a.p, 0);
    assert.ok(Math.abs(total - 1) < 1e-3, `the distribution sums to ${total}`);
    // A set of printable first characters holding about half the mass (most likely first).
    const printable = dist.filter((a) => a.token.length === 1).sort((a, b) => b.p - a.p);
    const set = new Set<string>();
    let pS = 0;
    for (const a of printable) {
      if (pS >= 0.45) break;
      set.add(a.token);
      pS += a.p;
    }
    assert.ok(pS > 0.2 && pS < 0.8, `the event's probability ${pS} should be away from 0 and 1`);
    const hits = recorded.filter((c) => c.text.length > 0 && set.has(c.text[0]!)).length;
    // Binomial(K, pS): 4.5 standard deviations (two-sided p about 7e-6); the draws are seeded, so
    // the count is the same on every run. One shared seed gives 0 or K here.
    const sd = Math.sqrt(K * pS * (1 - pS));
    assert.ok(
      Math.abs(hits - K * pS) <= 4.5 * sd,
      `${hits} of ${K} first tokens in the set, expected ${(K * pS).toFixed(1)} +- ${(4.5 * sd).toFixed(1)}`,
    );
    // And the responses are not one repeated text.
    assert.ok(new Set(recorded.map((c) => c.text)).size > 10);
  } finally {
    gpt.dispose();
  }
});

/** Emits one digit drawn from the request's own stream, then EOS; records each stream's first draw. */
class DrawRecorder implements SamplingModel {
  readonly config = { blockSize: 256 };
  readonly firstDraws: number[] = [];
  generate(prompts: number[][], opts: { maxNewTokens: number; rng: Uniform | Uniform[] }) {
    const tokens = prompts.map((_, b) => {
      const rng = Array.isArray(opts.rng) ? opts.rng[b]! : opts.rng;
      const u = rng.next();
      this.firstDraws.push(u);
      return [tok.encode(String(Math.floor(u * 10)))[0]!, CharTokenizer.EOS].slice(0, opts.maxNewTokens);
    });
    return { tokens, stopped: tokens.map(() => true), logProbs: tokens.map((t) => t.map(() => 0)) };
  }
}

test("evaluatePolicy (the in-training eval): samples per group, each request its own stream; greedy once", async () => {
  const g = new DrawRecorder();
  const r = await evaluatePolicy(g, tok, problems, { n: 1, budget: 8, temperature: 1, seed: 3, samples: 4 });
  assert.equal(g.firstDraws.length, 24 * 4);
  assert.equal(new Set(g.firstDraws).size, g.firstDraws.length, "two eval requests shared a stream");
  assert.ok(r.accuracy >= 0 && r.accuracy <= 1);
  // Reproducible: the same eval draws the same numbers.
  const again = new DrawRecorder();
  await evaluatePolicy(again, tok, problems, { n: 1, budget: 8, temperature: 1, seed: 3, samples: 4 });
  assert.deepEqual(again.firstDraws, g.firstDraws);
  const greedy = new DrawRecorder();
  await evaluatePolicy(greedy, tok, problems, { n: 2, budget: 8, temperature: 0, seed: 3, samples: 4 });
  assert.equal(greedy.firstDraws.length, 12);
});
