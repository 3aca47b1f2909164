import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startModelServer } from "../../src/serve/model-server.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { FakeGenerator } from "../eval/fakes.js";
import { tf, initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";

/** A JSON reply, read field by field in assertions (its shape is what the tests check). */
// biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field; a full type would restate the API
type Json = any;

const tok = new CharTokenizer();
// Replies "ok" + the prompt's length in chars (BOS excluded), then EOS.
const gen = () => new FakeGenerator((p) => tok.encode(`ok${p.length - 1}`), 64);

async function post(url: string, body: unknown) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

test("serves health, models, completions and chat with exact usage and finish reasons", async () => {
  const srv = await startModelServer({ model: gen(), tokenizer: tok, port: 0, name: "tiny" });
  try {
    assert.deepEqual(await (await fetch(`${srv.url}/health`)).json(), { status: "ok" });
    const models = (await (await fetch(`${srv.baseUrl}/models`)).json()) as Json;
    assert.equal(models.data[0].id, "tiny");

    const r = await post(`${srv.baseUrl}/completions`, { model: "tiny", prompt: "1+1", max_tokens: 10 });
    assert.equal(r.status, 200);
    assert.equal(r.body.choices[0].text, "ok3");
    assert.equal(r.body.choices[0].finish_reason, "stop");
    assert.deepEqual(r.body.usage, { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 }); // BOS+3; "ok3"+EOS

    const cut = await post(`${srv.baseUrl}/completions`, { prompt: ["1+1", "12345"], max_tokens: 2 });
    assert.deepEqual(
      cut.body.choices.map((c: Json) => [c.index, c.text, c.finish_reason]),
      [
        [0, "ok", "length"],
        [1, "ok", "length"],
      ],
    );
    assert.equal(cut.body.usage.completion_tokens, 4);

    const stop = await post(`${srv.baseUrl}/completions`, { prompt: "abcdefghijkl", max_tokens: 10, stop: ["12"] });
    assert.equal(stop.body.choices[0].text, "ok");
    assert.equal(stop.body.choices[0].finish_reason, "stop");
    assert.equal(stop.body.usage.completion_tokens, 4); // "ok12": the stop string counts

    const chat = await post(`${srv.baseUrl}/chat/completions`, {
      messages: [
        { role: "system", content: "ignored" },
        { role: "user", content: "ab" },
        { role: "user", content: [{ type: "text", text: "c" }] },
      ],
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
  await assert.rejects(
    startModelServer({ model: gen(), tokenizer: tok, port: 0, unknownChars: { replace: "’" } }),
    /not in the vocabulary/,
  );
});

test("concurrent requests are micro-batched into fewer generate calls", async () => {
  const g = gen();
  const srv = await startModelServer({ model: g, tokenizer: tok, port: 0, batchWindowMs: 20 });
  try {
    const prompts = ["1", "22", "333", "4444", "55555", "666666"];
    const rs = await Promise.all(
      prompts.map((p) => post(`${srv.baseUrl}/completions`, { prompt: p, max_tokens: 8, seed: 3 })),
    );
    assert.deepEqual(
      rs.map((r) => r.body.choices[0].text),
      prompts.map((p) => `ok${p.length}`),
    );
    assert.ok(g.calls.length < prompts.length, `expected batching, got ${g.calls.length} generate calls`);
    assert.ok(srv.stats.maxBatchSeen > 1);
    assert.equal(srv.stats.items, prompts.length);
  } finally {
    await srv.close();
  }
});

test("an unknown model is 404; unimplemented fields are 400; 405 and 413 are request errors", async () => {
  const srv = await startModelServer({ model: gen(), tokenizer: tok, port: 0, name: "tiny", maxBodyBytes: 1000 });
  try {
    const r404 = await post(`${srv.baseUrl}/completions`, { model: "gpt-4", prompt: "1" });
    assert.equal(r404.status, 404);
    assert.equal(r404.body.error.code, "model_not_found");
    assert.equal(r404.body.error.param, "model");
    assert.equal(
      (await post(`${srv.baseUrl}/chat/completions`, { model: "other", messages: [{ role: "user", content: "1" }] }))
        .status,
      404,
    );
    assert.equal((await post(`${srv.baseUrl}/completions`, { model: "tiny", prompt: "1" })).status, 200);
    for (const [extra, param] of [
      [{ echo: true }, "echo"],
      [{ best_of: 2 }, "best_of"],
      [{ suffix: "x" }, "suffix"],
      [{ logit_bias: { "5": 1 } }, "logit_bias"],
      [{ presence_penalty: 0.5 }, "presence_penalty"],
      [{ frequency_penalty: 1 }, "frequency_penalty"],
      [{ logprobs: 21 }, "logprobs"],
      [{ logprobs: -1 }, "logprobs"],
    ] as const) {
      const r = await post(`${srv.baseUrl}/completions`, { prompt: "1", ...extra });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.equal(r.body.error.param, param);
      assert.equal(r.body.error.type, "invalid_request_error");
    }
    // no-op values are fine
    assert.equal(
      (await post(`${srv.baseUrl}/completions`, { prompt: "1", echo: false, best_of: 1, presence_penalty: 0 })).status,
      200,
    );
    const chatTop = await post(`${srv.baseUrl}/chat/completions`, {
      messages: [{ role: "user", content: "1" }],
      top_logprobs: 2,
    });
    assert.equal(chatTop.status, 400);
    assert.match(chatTop.body.error.message, /needs logprobs: true/);
    const r405 = await fetch(`${srv.baseUrl}/completions`);
    assert.equal(r405.status, 405);
    assert.equal(((await r405.json()) as Json).error.type, "invalid_request_error");
    const r413 = await post(`${srv.baseUrl}/completions`, { prompt: "1".repeat(2000) });
    assert.equal(r413.status, 413);
    assert.equal(r413.body.error.type, "invalid_request_error");
  } finally {
    await srv.close();
  }
});

test("tool and function calling is refused with a 400 naming the field (not ignored); no-op values pass", async () => {
  const srv = await startModelServer({ model: gen(), tokenizer: tok, port: 0 });
  try {
    const messages = [{ role: "user", content: "1+1" }];
    const fn = { name: "add", description: "adds", parameters: { type: "object", properties: {} } };
    for (const [extra, param] of [
      [{ tools: [{ type: "function", function: fn }] }, "tools"],
      [{ tool_choice: "auto" }, "tool_choice"],
      [{ tool_choice: "required" }, "tool_choice"],
      [{ tool_choice: { type: "function", function: { name: "add" } } }, "tool_choice"],
      [{ functions: [fn] }, "functions"],
      [{ function_call: "auto" }, "function_call"],
      [{ function_call: { name: "add" } }, "function_call"],
    ] as const) {
      for (const path of ["/chat/completions", "/completions"]) {
        const body = path === "/completions" ? { prompt: "1+1", ...extra } : { messages, ...extra };
        const r = await post(`${srv.baseUrl}${path}`, body);
        assert.equal(r.status, 400, `${path} ${JSON.stringify(extra)}`);
        assert.deepEqual(r.body, {
          error: {
            message: `${param} is not supported by this server (no tool or function calling: the model only writes text)`,
            type: "invalid_request_error",
            param,
            code: 400,
          },
        });
      }
    }
    const noop = await post(`${srv.baseUrl}/chat/completions`, {
      messages,
      tools: [],
      tool_choice: "none",
      functions: [],
      function_call: "none",
    });
    assert.equal(noop.status, 200);
    assert.equal(noop.body.choices[0].message.content, "ok3");
  } finally {
    await srv.close();
  }
});

describe("with a real GPT", () => {
  let gpt: GPT;
  before(async () => {
    await initBackend();
    gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 48, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed: 3 });
  });
  after(() => gpt.dispose());

  test("a seeded request gives the same text alone, beside other traffic, and twice in one batch", async () => {
    const srv = await startModelServer({ model: gpt, tokenizer: tok, port: 0, batchWindowMs: 30 });
    try {
      const seeded = { prompt: "12+3", max_tokens: 12, temperature: 1, seed: 42 };
      const alone = (await post(`${srv.baseUrl}/completions`, seeded)).body.choices[0].text;
      const batchesBefore = srv.stats.batches;
      // The same request twice, plus unseeded and differently seeded traffic, in one micro-batch.
      const rs = await Promise.all([
        post(`${srv.baseUrl}/completions`, seeded),
        post(`${srv.baseUrl}/completions`, { prompt: "7-1", max_tokens: 12, temperature: 1 }),
        post(`${srv.baseUrl}/completions`, { ...seeded, seed: 43 }),
        post(`${srv.baseUrl}/completions`, { prompt: "99", max_tokens: 12, temperature: 1, seed: 5 }),
        post(`${srv.baseUrl}/completions`, seeded),
      ]);
      assert.equal(srv.stats.batches - batchesBefore, 1, "all five shared one micro-batch");
      assert.equal(rs[0]!.body.choices[0].text, alone);
      assert.equal(rs[4]!.body.choices[0].text, alone);
      assert.notEqual(rs[2]!.body.choices[0].text, alone, "another seed samples another stream");
    } finally {
      await srv.close();
    }
  });

  test("logprobs (completions and chat) equal the model's own scoring of the sampled text", async () => {
    const srv = await startModelServer({ model: gpt, tokenizer: tok, port: 0 });
    try {
      // The untrained model sometimes samples a special token (decoded as ""), which the text
      // cannot be re-encoded from: take the first seed whose sample is all characters.
      let c: Awaited<ReturnType<typeof post>> | undefined;
      let seed = 1;
      for (; seed <= 50; seed++) {
        c = await post(`${srv.baseUrl}/completions`, {
          prompt: "3+4",
          max_tokens: 10,
          temperature: 1,
          seed,
          logprobs: 3,
        });
        assert.equal(c.status, 200);
        if (c.body.choices[0].logprobs.tokens.every((t: string) => t.length === 1)) break;
      }
      assert.ok(seed <= 50 && c);
      const ch = await post(`${srv.baseUrl}/chat/completions`, {
        messages: [{ role: "user", content: "3+4" }],
        max_tokens: 10,
        temperature: 1,
        seed,
        logprobs: true,
        top_logprobs: 3,
      });
      const text: string = c.body.choices[0].text;
      const lp = c.body.choices[0].logprobs;
      assert.equal(lp.tokens.join(""), text);
      assert.deepEqual(
        lp.text_offset,
        [...text].map((_, i) => i),
      );
      assert.equal(ch.body.choices[0].message.content, text, "same prompt and seed");
      assert.deepEqual(
        ch.body.choices[0].logprobs.content.map((t: Json) => t.logprob),
        lp.token_logprobs,
      );
      // Independent computation: one teacher-forced forward pass over BOS + prompt + text.
      const ids = [1, ...tok.encode("3+4"), ...tok.encode(text)];
      const logits = tf.tidy(
        () => tf.logSoftmax(gpt.logits(tf.tensor2d([ids], [1, ids.length], "int32"))).arraySync() as number[][][],
      );
      for (let t = 0; t < text.length; t++) {
        const row = logits[0]![3 + t]!; // position of the token before text[t]
        const want = row[ids[4 + t]!]!;
        assert.ok(Math.abs(lp.token_logprobs[t] - want) < 1e-4, `token ${t}: ${lp.token_logprobs[t]} vs ${want}`);
        const top = Object.entries(lp.top_logprobs[t] as Record<string, number>);
        assert.equal(top.length, 3);
        // Each listed alternative has the reference log-prob, and none left out beats them
        // (near-ties may order differently: the cached and the full forward round apart).
        const fourth = row.slice().sort((a, b) => b - a)[3]!;
        for (const [k, v] of top) {
          if (k === "") continue; // a special token (decodes to ""): no id to look it up by
          assert.ok(Math.abs(v - row[tok.encode(k)[0]!]!) < 1e-4, `top ${k}`);
          assert.ok(v >= fourth - 1e-4);
        }
      }
      const none = await post(`${srv.baseUrl}/completions`, { prompt: "3+4", max_tokens: 4 });
      assert.equal(none.body.choices[0].logprobs, null);
    } finally {
      await srv.close();
    }
  });

  test("close() with requests in flight: every one is answered, then new connections are refused", async () => {
    const srv = await startModelServer({ model: gpt, tokenizer: tok, port: 0, batchWindowMs: 50, acceptGraceMs: 0 });
    const sent = Array.from({ length: 20 }, (_, i) =>
      post(`${srv.baseUrl}/completions`, { prompt: String(i), max_tokens: 16, temperature: 0 }),
    );
    for (let i = 0; i < 500 && srv.stats.requests < 20; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(srv.stats.requests, 20, "all twenty received");
    const closing = srv.close();
    const rs = await Promise.all(sent);
    assert.deepEqual(
      rs.map((r) => r.status),
      Array(20).fill(200),
    );
    await closing;
    await assert.rejects(fetch(`${srv.url}/health`));
  });
});
