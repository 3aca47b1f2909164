import { test } from "node:test";
import assert from "node:assert/strict";
import { startModelServer } from "../../src/serve/model-server.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { FakeGenerator } from "../eval/fakes.js";

const tok = new CharTokenizer();
// Replies "ok" + the prompt's length in chars (BOS excluded), then EOS.
const gen = () => new FakeGenerator((p) => tok.encode(`ok${p.length - 1}`), 64);

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

test("serves health, models, completions and chat with exact usage and finish reasons", async () => {
  const srv = await startModelServer({ model: gen(), tokenizer: tok, port: 0, name: "tiny" });
  try {
    assert.deepEqual(await (await fetch(`${srv.url}/health`)).json(), { status: "ok" });
    const models = (await (await fetch(`${srv.baseUrl}/models`)).json()) as any;
    assert.equal(models.data[0].id, "tiny");

    const r = await post(`${srv.baseUrl}/completions`, { model: "tiny", prompt: "1+1", max_tokens: 10 });
    assert.equal(r.status, 200);
    assert.equal(r.body.choices[0].text, "ok3");
    assert.equal(r.body.choices[0].finish_reason, "stop");
    assert.deepEqual(r.body.usage, { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 }); // BOS+3; "ok3"+EOS

    const cut = await post(`${srv.baseUrl}/completions`, { prompt: ["1+1", "12345"], max_tokens: 2 });
    assert.deepEqual(cut.body.choices.map((c: any) => [c.index, c.text, c.finish_reason]), [[0, "ok", "length"], [1, "ok", "length"]]);
    assert.equal(cut.body.usage.completion_tokens, 4);

    const stop = await post(`${srv.baseUrl}/completions`, { prompt: "abcdefghijkl", max_tokens: 10, stop: ["12"] });
    assert.equal(stop.body.choices[0].text, "ok");
    assert.equal(stop.body.choices[0].finish_reason, "stop");
    assert.equal(stop.body.usage.completion_tokens, 4); // "ok12": the stop string counts

    const chat = await post(`${srv.baseUrl}/chat/completions`, {
      messages: [{ role: "system", content: "ignored" }, { role: "user", content: "ab" }, { role: "user", content: [{ type: "text", text: "c" }] }],
      max_tokens: 8,
    });
    assert.equal(chat.status, 200);
    assert.equal(chat.body.choices[0].message.content, "ok4"); // "ab\nc" = 4 chars
    assert.equal(chat.body.object, "chat.completion");
  } finally {
    await srv.close();
  }
});

test("answers 400 with a clear message on malformed input, unknown characters and long prompts", async () => {
  const srv = await startModelServer({ model: gen(), tokenizer: tok, port: 0 });
  try {
    const cases: [unknown, RegExp][] = [
      ["{not json", /not valid JSON/],
      [[1, 2], /JSON object/],
      [{ prompt: 5 }, /prompt must be/],
      [{ prompt: [] }, /prompt must be/],
      [{ prompt: "1", max_tokens: 0 }, /max_tokens/],
      [{ prompt: "1", max_tokens: 2.5 }, /max_tokens/],
      [{ prompt: "1", temperature: -1 }, /temperature/],
      [{ prompt: "1", top_p: 0 }, /top_p/],
      [{ prompt: "1", n: 2 }, /n=1/],
      [{ prompt: "1", stop: [1] }, /stop/],
      [{ prompt: "1", stream: true }, /streaming/],
      [{ prompt: "it’s $5" }, /character "’" \(U\+2019\) at position 2/],
      [{ prompt: "x".repeat(64) }, /context window is 64/],
    ];
    for (const [body, msg] of cases) {
      const r = await post(`${srv.baseUrl}/completions`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error.message, msg);
    }
    const chat = await post(`${srv.baseUrl}/chat/completions`, { messages: [{ role: "system", content: "x" }] });
    assert.equal(chat.status, 400);
    assert.match(chat.body.error.message, /no user content/);
    assert.equal((await fetch(`${srv.baseUrl}/nope`)).status, 404);
    assert.equal((await fetch(`${srv.baseUrl}/completions`)).status, 405);
  } finally {
    await srv.close();
  }
});

test("unknownChars replace maps characters outside the vocabulary", async () => {
  const srv = await startModelServer({ model: gen(), tokenizer: tok, port: 0, unknownChars: { replace: "?" } });
  try {
    const r = await post(`${srv.baseUrl}/completions`, { prompt: "it’s $5", max_tokens: 8 });
    assert.equal(r.status, 200);
    assert.equal(r.body.choices[0].text, "ok7");
  } finally {
    await srv.close();
  }
  await assert.rejects(startModelServer({ model: gen(), tokenizer: tok, port: 0, unknownChars: { replace: "’" } }), /not in the vocabulary/);
});

test("concurrent requests are micro-batched into fewer generate calls", async () => {
  const g = gen();
  const srv = await startModelServer({ model: g, tokenizer: tok, port: 0, batchWindowMs: 20 });
  try {
    const prompts = ["1", "22", "333", "4444", "55555", "666666"];
    const rs = await Promise.all(prompts.map((p) => post(`${srv.baseUrl}/completions`, { prompt: p, max_tokens: 8, seed: 3 })));
    assert.deepEqual(rs.map((r) => r.body.choices[0].text), prompts.map((p) => `ok${p.length}`));
    assert.ok(g.calls.length < prompts.length, `expected batching, got ${g.calls.length} generate calls`);
    assert.ok(srv.stats.maxBatchSeen > 1);
    assert.equal(srv.stats.items, prompts.length);
  } finally {
    await srv.close();
  }
});
