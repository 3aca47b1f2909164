/**
 * `bcr serve-model` samples in a worker thread (src/serve/generate-thread.ts): the same texts
 * as sampling on the event loop, and /health answered while a long batch is sampled.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startModelServer, type ModelServer } from "../../src/serve/model-server.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { initBackend, tf } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";
import { attemptsUnder, probeWhile } from "./threads.js";

const tok = new CharTokenizer();
let gpt: GPT;

before(async () => {
  await initBackend();
  gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 48, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed: 3 });
});
after(() => gpt.dispose());

interface Reply {
  choices: { text?: string; message?: { content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

async function post(url: string, body: unknown) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Reply };
}

test("the generation thread samples the same texts as the event loop, for a GPT and for its checkpoint", {
  timeout: 120_000,
}, async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bcr-serve-thread-")), "ck");
  saveCheckpoint(dir, { model: gpt, step: 7, extra: { tokenizerChars: tok.chars } });
  const servers: ModelServer[] = [];
  try {
    const onLoop = await startModelServer({ model: gpt, tokenizer: tok, port: 0, name: "tiny", worker: false });
    servers.push(onLoop);
    const inThread = await startModelServer({ model: gpt, tokenizer: tok, port: 0, name: "tiny" });
    servers.push(inThread);
    const fromCheckpoint = await startModelServer({ checkpoint: dir, port: 0, name: "tiny" });
    servers.push(fromCheckpoint);
    const checkpointOnLoop = await startModelServer({ checkpoint: dir, port: 0, name: "tiny", worker: false });
    servers.push(checkpointOnLoop);
    assert.deepEqual(
      servers.map((s) => [s.worker, s.workerFailure]),
      [
        [false, null],
        [true, null],
        [true, null],
        [false, null],
      ],
    );
    assert.deepEqual(fromCheckpoint.checkpoint, { dir, step: 7 });
    assert.deepEqual(checkpointOnLoop.checkpoint, { dir, step: 7 });
    const models = (await (await fetch(`${fromCheckpoint.baseUrl}/models`)).json()) as {
      data: { max_model_len: number }[];
    };
    assert.equal(models.data[0].max_model_len, 48);
    // Seeded and unseeded (these draw from the server's own stream), several prompts in one
    // request, top-p, logprobs, chat, greedy; one after another, so each is its own batch.
    const requests: [string, Record<string, unknown>][] = [
      ["/completions", { prompt: "12+3", max_tokens: 12, temperature: 1, seed: 42 }],
      ["/completions", { prompt: ["7-1", "99", "4*4"], max_tokens: 10, temperature: 1 }],
      ["/completions", { prompt: "3+4", max_tokens: 8, temperature: 0.7, top_p: 0.9, seed: 5, logprobs: 2 }],
      ["/chat/completions", { messages: [{ role: "user", content: "5*5" }], max_tokens: 10 }],
      ["/completions", { prompt: "1", max_tokens: 6, temperature: 0 }],
      ["/completions", { prompt: "2+2", max_tokens: 12, temperature: 1 }],
    ];
    const outputs = [];
    for (const srv of servers) {
      const out = [];
      for (const [p, body] of requests) {
        const r = await post(`${srv.baseUrl}${p}`, body);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        out.push({ choices: r.body.choices, usage: r.body.usage });
      }
      outputs.push(out);
    }
    assert.deepEqual(outputs[1], outputs[0], "GPT in the thread = on the event loop");
    assert.deepEqual(outputs[2], outputs[0], "checkpoint in the thread = GPT on the event loop");
    assert.deepEqual(outputs[3], outputs[0], "checkpoint on the event loop = GPT on the event loop");
    const texts = outputs[0]!.flatMap((o) => o.choices.map((c) => c.text ?? c.message?.content));
    assert.ok(new Set(texts).size > 3, "the requests sample different texts");
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
  await assert.rejects(startModelServer({ checkpoint: path.join(dir, "nope"), port: 0 }), /not a checkpoint/);
});

test("/health answers in under 100 ms while a long batch is sampled", { timeout: 180_000 }, async () => {
  // A model that never ends a sequence: the final LayerNorm's output has zero mean, so with
  // bias 1 and the EOS embedding row at -0.5 the EOS logit is -0.5 * nEmbd = -64 at every step.
  const big = new GPT({
    vocabSize: tok.vocabSize,
    blockSize: 256,
    nEmbd: 128,
    nLayer: 4,
    nHead: 4,
    dropout: 0,
    seed: 1,
  });
  tf.tidy(() => {
    big.params.get("transformer.ln_f.bias")!.assign(tf.ones([128]));
    const wte = big.params.get("transformer.wte.weight")!;
    const rows = wte.arraySync() as number[][];
    rows[CharTokenizer.EOS] = Array(128).fill(-0.5);
    wte.assign(tf.tensor2d(rows));
  });
  const srv = await startModelServer({ model: big, tokenizer: tok, port: 0 });
  const prompts = ["1+1", "2+2", "3+3", "4+4", "5+5", "6+6", "7+7", "8+8"];
  const maxTokens = 240;
  try {
    /** One attempt: /health probed from its own thread while one batch of 8 x 240 tokens is sampled. */
    const attempt = () =>
      probeWhile(srv.url, "/health", async () => {
        const t = performance.now();
        const r = await post(`${srv.baseUrl}/completions`, { prompt: prompts, max_tokens: maxTokens, temperature: 1 });
        return { ...r, ms: performance.now() - t };
      });
    // On the event loop this batch held /health for its whole length (about a second on two
    // cores); the bound is 100 ms for the slowest probe of an attempt, up to three attempts.
    const { runs, last, summary } = await attemptsUnder(100, attempt);
    const took = runs.map((r) => `${r.result.ms.toFixed(0)} ms`).join(", ");
    assert.ok(last.max < 100, `/health latency per attempt: ${summary} (generations took ${took})`);
    assert.ok(
      runs.every((r) => r.probes >= 3 && r.statuses.join() === "200"),
      summary,
    );
    const r = last.result;
    assert.equal(r.status, 200);
    assert.equal(r.body.usage.completion_tokens, prompts.length * maxTokens, "no sequence ended early");
    assert.ok(r.body.choices.every((c) => c.finish_reason === "length"));
    console.log(`# /health: ${summary}; generations took ${took}`);
  } finally {
    await srv.close();
    big.dispose();
  }
});
