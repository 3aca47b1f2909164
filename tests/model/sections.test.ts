// Section positions: the layout rule on a hand-worked packed sequence, and a "sections" GPT
// through every path (gradients, KV cache with left padding, scoring vs sampling, SFT checkpoints).
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { GPT, type GPTConfig } from "../../src/model/gpt.js";
import { sectionLayout, type SectionSpec } from "../../src/model/sections.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { loadLocal } from "../../src/train/load-local.js";
import { SftConfigSchema } from "../../src/train/sft-config.js";
import { MAX_SECTION, trainSft } from "../../src/train/sft.js";
import { parseConfig } from "../../src/util/config.js";
import { tempDir } from "../helpers/tmp.js";
import { assertGradientsMatchFiniteDifferences } from "../helpers/finite-diff.js";
import {
  assertCacheMatchesRecompute,
  assertSampledLogProbsMatchScoring,
  sharpenAttention,
} from "../helpers/decoding.js";

await initBackend();
const tok = new CharTokenizer();
const SPEC: SectionSpec = { promptEnd: tok.encode("\n")[0]!, mark: tok.encode(":")[0]!, maxSection: 3 };
const SECTIONS: GPTConfig = {
  vocabSize: tok.vocabSize,
  blockSize: 48,
  nEmbd: 16,
  nLayer: 2,
  nHead: 2,
  dropout: 0,
  seed: 5,
  positions: "sections",
  sections: SPEC,
};
const ids = (s: string) => [CharTokenizer.BOS, ...tok.encode(s)];

/** A sections GPT with sharp attention, so a wrong position shows (see sharpenAttention). */
const sharp = () => sharpenAttention(new GPT(SECTIONS));

test("section layout on a hand-worked pack: prompt absolute, each response section restarts where section 1 started", () => {
  // index:   0 B, 1-2 "1:", 3-5 "5+1", 6 " ", 7-8 "2:", 9-11 "7-2", 12 "\n" | response from 13
  const prompt = "1:5+1 2:7-2\n";
  const response = "1:a5+1=6 A6 2:f7-2=5 A5";
  const seq = ids(prompt + response);
  const { pos, section } = sectionLayout(seq, SPEC);
  const R = 13;
  // Prompt: absolute positions; `1` (index 1) is still section 0, `:` opens section 1.
  for (let t = 0; t < R; t++) assert.equal(pos[t], t, `prompt pos ${t}`);
  assert.deepEqual(Array.from(section.subarray(0, R)), [0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
  // Response section 1 ("1:a5+1=6 A6 " = 12 chars, indices 13..24): absolute positions.
  for (let t = R; t < R + 12; t++) assert.equal(pos[t], t, `section 1 pos ${t}`);
  // The `1` opening the response is section 0 (no mark yet in the response), `:` opens 1.
  assert.equal(section[R], 0);
  assert.equal(section[R + 1], 1);
  // The `2` of "2:" (index 25) continues section 1; its `:` (26) restarts at section 1's `:` position.
  assert.equal(section[R + 12], 1);
  assert.equal(pos[R + 12], R + 12);
  assert.equal(pos[R + 13], R + 1);
  // "f7-2=5 A5" takes the positions of "a5+1=6 A6", in section 2.
  for (let j = 0; j < "f7-2=5 A5".length; j++) {
    assert.equal(pos[R + 14 + j], R + 2 + j, `section 2 char ${j}`);
    assert.equal(section[R + 14 + j], 2);
  }
  // Sections past maxSection share its id; a response that opens with the mark stays in range.
  const many = sectionLayout(ids("\n1:a 2:b 3:c 4:d 5:e"), SPEC);
  assert.equal(Math.max(...many.section), 3);
  const early = sectionLayout(ids("\n:"), SPEC);
  assert.deepEqual(Array.from(early.pos), [0, 1, 2]);
});

test("a sections GPT validates its spec, and its gradients (section table included) match finite differences", () => {
  assert.throws(() => new GPT({ ...SECTIONS, sections: undefined }), /needs sections/);
  assert.throws(() => new GPT({ ...SECTIONS, sections: { ...SPEC, mark: SPEC.promptEnd } }), /different tokens/);
  assert.throws(() => new GPT({ ...SECTIONS, sections: { ...SPEC, mark: 999 } }), /sections\.mark/);
  assert.throws(() => new GPT({ ...SECTIONS, positions: "learned" }), /only read with positions "sections"/);
  const m = new GPT({ ...SECTIONS, nEmbd: 8 });
  assert.deepEqual(m.params.get("transformer.wse.weight")!.shape, [4, 8]);
  const seqs = [ids("1:4+1\n1:a4+1=5 A5"), ids("1:3 2:6\n1:A3 2:A6 ")];
  const tokens = tf.tensor2d(seqs, [2, seqs[0]!.length], "int32");
  const w = tf.tensor2d(seqs.map((s) => s.slice(1).map((_, i) => Math.sin(i + 1))));
  const loss = () => tf.sum(tf.mul(m.tokenLogProbs(tokens), w)) as tf.Scalar;
  // wse rows 1 and 2 are sections 1 and 2; wpe row 14 is used by the second row's section 2
  // (restarted) and by the first row's absolute position 14.
  assertGradientsMatchFiniteDifferences(m.params, loss, [
    ["transformer.wse.weight", 1 * 8 + 3],
    ["transformer.wse.weight", 2 * 8 + 5],
    ["transformer.wpe.weight", 14 * 8 + 2],
    ["transformer.h.0.attn.c_attn.weight", 3 * 24 + 4],
    ["transformer.wte.weight", 7 * 8 + 1],
  ]);
  tf.dispose([tokens, w]);
  m.dispose();
});

test("sections: KV-cache decoding equals full recompute, and sampled logProbs equal each sequence scored alone", () => {
  const m = sharp();
  // Ragged prompts (left padding); two end inside response section 2 or 3, so their decoded
  // tokens sit at restarted positions.
  const prompts = [ids("1:5+1 2:7\n1:a5+1=6 A6 2:f"), ids("1:3\n"), ids("1:2-1 2:4 3:9\n1:A1 2:A4 3:")];
  const a = assertCacheMatchesRecompute(m, prompts, { maxNewTokens: 16, seed: 42, temperature: 1.3 });
  // Sampling must compute the layout the training path computes: score each sequence alone.
  assertSampledLogProbsMatchScoring(m, prompts, a);
  m.dispose();
});

test("section ids and restarted positions are really applied", () => {
  const m = sharp();
  // Same weights, learned positions (no section table): on a prompt and section 1, "sections"
  // positions equal absolute ones, so with the section table zeroed the two score alike...
  const plain = new GPT({ ...SECTIONS, positions: "learned", sections: undefined });
  for (const [name, v] of plain.params) v.assign(m.params.get(name)!);
  const wse = m.params.get("transformer.wse.weight")!;
  const saved = wse.clone();
  wse.assign(tf.zerosLike(wse));
  const score = (g: GPT, s: number[]) =>
    tf.tidy(() => Array.from(g.tokenLogProbs(tf.tensor2d([s], [1, s.length], "int32")).dataSync()));
  const one = ids("1:5+1 2:7-2\n1:a5+1=6 A6 ");
  const two = ids("1:5+1 2:7-2\n1:a5+1=6 A6 2:f7-2=5 A5");
  const maxDiff = (a: number[], b: number[], from = 0) =>
    Math.max(...a.slice(from).map((v, i) => Math.abs(v - b[from + i]!)));
  assert.ok(maxDiff(score(m, one), score(plain, one)) < 1e-5, "section 1 differs from absolute positions");
  // ...but section 2 restarts its positions, so it scores differently from absolute positions.
  const cut = one.length;
  assert.ok(maxDiff(score(m, two), score(plain, two), cut) > 1e-2, "section 2 scored with absolute positions");
  // And the section table itself changes the scores.
  wse.assign(saved);
  assert.ok(maxDiff(score(m, one), score(plain, one)) > 1e-2, "the section table is not applied");
  saved.dispose();
  m.dispose();
  plain.dispose();
});

test("an SFT run with model.positions = sections saves and reloads a sections model with the template's marks", async () => {
  const examples = Array.from({ length: 8 }, (_, i) => ({ prompt: `1:${i}+1\n`, response: `1:A${i + 1}` }));
  const config = parseConfig(
    {
      seed: 7,
      model: { blockSize: 16, nEmbd: 16, nLayer: 1, nHead: 2, positions: "sections" },
      train: { steps: 2, batchSize: 4, evalEvery: 0, checkpointEvery: 0 },
      optim: { lr: 1e-2, minLr: 1e-3, warmupSteps: 0 },
    },
    SftConfigSchema,
    "test",
  );
  const out = tempDir("bcr-sections-");
  (await trainSft(config, examples, out, { progress: false })).model.dispose();
  const loaded = await loadLocal(out);
  assert.equal(loaded.gpt.config.positions, "sections");
  assert.deepEqual(loaded.gpt.config.sections, {
    promptEnd: tok.encode("\n")[0],
    mark: tok.encode(":")[0],
    maxSection: MAX_SECTION,
  });
  assert.deepEqual(loaded.gpt.params.get("transformer.wse.weight")!.shape, [MAX_SECTION + 1, 16]);
  loaded.gpt.dispose();
});
