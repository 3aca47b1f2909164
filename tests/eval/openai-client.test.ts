import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { OpenAIModel, parseRetryAfter } from "../../src/eval/openai-client.js";
import { startModelServer, type ModelServer } from "../../src/serve/model-server.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { FakeGenerator } from "./fakes.js";

const tok = new CharTokenizer();

type Fault = "429" | "500" | "503-retry-after" | "slow" | "malformed" | "drop" | "no-usage" | "400";

/**
 * A proxy in front of the real model server: each request takes the next fault from `script`
 * (a function of the request's prompt and attempt number), or passes through.
 */
async function startProxy(target: ModelServer, fault: (prompt: string, attempt: number) => Fault | null, slowMs = 300) {
  const attempts = new Map<string, number>();
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const server = http.createServer(async (req, res) => {
    stats.requests++;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString("utf8");
      const body = JSON.parse(raw);
      const prompt: string = body.prompt ?? body.messages?.[0]?.content;
      const n = attempts.get(prompt) ?? 0;
      attempts.set(prompt, n + 1);
      const f = fault(prompt, n);
      if (f === "429") {
        res.writeHead(429, { "retry-after": "0" }).end('{"error":{"message":"slow down"}}');
        return;
      }
      if (f === "500") {
        res.writeHead(500).end('{"error":{"message":"boom"}}');
        return;
      }
      if (f === "503-retry-after") {
        res.writeHead(503, { "retry-after": "0.25" }).end("unavailable");
        return;
      }
      if (f === "400") {
        res.writeHead(400).end('{"error":{"message":"bad"}}');
        return;
      }
      if (f === "drop") {
        req.socket.destroy();
        return;
      }
      if (f === "slow") {
        await new Promise((r) => setTimeout(r, slowMs));
        if (res.destroyed) return; // the client timed out
      }
      if (f === "malformed") {
        res.writeHead(200, { "content-type": "application/json" }).end('{"choices": [{"text": "ok');
        return;
      }
      const up = await fetch(`${target.url}${req.url}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: raw,
      });
      let text = await up.text();
      if (f === "no-usage") {
        const j = JSON.parse(text);
        delete j.usage;
        text = JSON.stringify(j);
      }
      if (!res.destroyed) res.writeHead(up.status, { "content-type": "application/json" }).end(text);
    } catch {
      if (!res.destroyed) res.writeHead(502).end("proxy error"); // upstream gone (the test is over)
    } finally {
      stats.inFlight--;
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return {
    url,
    stats,
    attempts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function withServer(
  fn: (srv: ModelServer) => Promise<void>,
  reply = (p: number[]) => tok.encode(`ok${p.length - 1}`),
) {
  const srv = await startModelServer({
    model: new FakeGenerator(reply, 128),
    tokenizer: tok,
    port: 0,
    name: "tiny",
    batchWindowMs: 1,
  });
  try {
    await fn(srv);
  } finally {
    await srv.close();
  }
}

// Generous timeouts: tests share two cores with other test files.
const fast = { initialDelayMs: 1, maxDelayMs: 20, timeoutMs: 5000 };

test("completions and chat modes against the project's own server, exact token counts", async () => {
  await withServer(async (srv) => {
    const m = new OpenAIModel({ baseUrl: srv.baseUrl, env: {} });
    const out = await m.complete([
      { prompt: "12", maxTokens: 10 },
      { prompt: "123456", maxTokens: 2 },
    ]);
    assert.equal(m.name, "openai:tiny"); // discovered from GET /models
    assert.deepEqual(out, [
      { text: "ok2", completionTokens: 4, promptTokens: 3, finishReason: "stop", tokensEstimated: false },
      { text: "ok", completionTokens: 2, promptTokens: 7, finishReason: "length", tokensEstimated: false },
    ]);
    const chat = new OpenAIModel({ baseUrl: srv.baseUrl, model: "tiny", mode: "chat", env: {} });
    const [c] = await chat.complete([{ prompt: "abc", maxTokens: 10, temperature: 0, seed: 1, stop: ["\n"] }]);
    assert.equal(c!.text, "ok3");
    assert.equal(c!.completionTokens, 4);
  });
});

test("settings come from the environment when not given", () => {
  const m = new OpenAIModel({ env: { OPENAI_BASE_URL: "http://h:1/v1/", OPENAI_MODEL: "q", OPENAI_API_KEY: "k" } });
  assert.equal(m.baseUrl, "http://h:1/v1");
  assert.equal(m.name, "openai:q");
  assert.equal(new OpenAIModel({ env: {} }).baseUrl, "http://127.0.0.1:8000/v1");
});

test("429, 5xx, timeouts, dropped connections and malformed bodies are retried until success", async () => {
  await withServer(async (srv) => {
    const seq: Fault[] = ["429", "500", "slow", "malformed", "drop"];
    const proxy = await startProxy(srv, (_p, n) => seq[n] ?? null, 2000);
    try {
      const m = new OpenAIModel({
        baseUrl: proxy.url,
        model: "tiny",
        maxRetries: 5,
        ...fast,
        timeoutMs: 1000,
        env: {},
      });
      const [c] = await m.complete([{ prompt: "77", maxTokens: 8 }]);
      assert.equal(c!.finishReason, "stop", c!.error);
      assert.equal(c!.text, "ok2");
      assert.equal(proxy.attempts.get("77"), 6);
      assert.equal(m.stats.retries, 5);
      assert.equal(m.stats.failures, 0);
    } finally {
      await proxy.close();
    }
  });
});

test("retries are capped: a persistently failing item comes back as an error, the others succeed", async () => {
  await withServer(async (srv) => {
    const proxy = await startProxy(srv, (p) => (p === "bad" ? "500" : p === "wrong" ? "400" : null));
    try {
      const m = new OpenAIModel({ baseUrl: proxy.url, model: "tiny", maxRetries: 3, ...fast, env: {} });
      const out = await m.complete([
        { prompt: "1", maxTokens: 8 },
        { prompt: "bad", maxTokens: 8 },
        { prompt: "wrong", maxTokens: 8 },
        { prompt: "22", maxTokens: 8 },
      ]);
      assert.deepEqual(
        out.map((c) => c.finishReason),
        ["stop", "error", "error", "stop"],
      );
      assert.match(out[1]!.error!, /HTTP 500/);
      assert.match(out[2]!.error!, /HTTP 400/);
      assert.equal(proxy.attempts.get("bad"), 4); // 1 + maxRetries
      assert.equal(proxy.attempts.get("wrong"), 1); // 4xx other than 408/409/425/429: not retried
      assert.equal(out[3]!.text, "ok2");
      assert.equal(m.stats.failures, 2);
    } finally {
      await proxy.close();
    }
  });
});

test("a closed port is a connection error, retried then reported", async () => {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const m = new OpenAIModel({ baseUrl: `http://127.0.0.1:${port}/v1`, model: "x", maxRetries: 2, ...fast, env: {} });
  const [c] = await m.complete([{ prompt: "1", maxTokens: 4 }]);
  assert.equal(c!.finishReason, "error");
  assert.match(c!.error!, /connection error/);
  assert.equal(m.stats.requests, 3);
});

test("Retry-After is respected, and capped by maxDelayMs", async () => {
  await withServer(async (srv) => {
    const proxy = await startProxy(srv, (_p, n) => (n === 0 ? "503-retry-after" : null));
    try {
      const m = new OpenAIModel({ baseUrl: proxy.url, model: "tiny", initialDelayMs: 1, maxDelayMs: 5000, env: {} });
      const t = performance.now();
      const [c] = await m.complete([{ prompt: "1", maxTokens: 4 }]);
      assert.equal(c!.finishReason, "stop");
      assert.equal(m.stats.backoffMs, 250, "scheduled the server's Retry-After: 0.25");
      // A lower bound on wall time holds on a loaded machine; an upper bound would not.
      assert.ok(performance.now() - t >= 240, "waited for Retry-After: 0.25");

      const capped = new OpenAIModel({ baseUrl: proxy.url, model: "tiny", initialDelayMs: 1, maxDelayMs: 30, env: {} });
      const [d] = await capped.complete([{ prompt: "2", maxTokens: 4 }]);
      assert.equal(d!.finishReason, "stop");
      assert.equal(capped.stats.retries, 1);
      assert.equal(capped.stats.backoffMs, 30, "the cap shortens a long Retry-After to maxDelayMs");
    } finally {
      await proxy.close();
    }
  });
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
  assert.equal(parseRetryAfter("soon"), undefined);
});

test("no more than `concurrency` requests are in flight", async () => {
  await withServer(async (srv) => {
    const proxy = await startProxy(srv, () => "slow");
    try {
      const m = new OpenAIModel({ baseUrl: proxy.url, model: "tiny", concurrency: 3, timeoutMs: 5000, env: {} });
      const out = await m.complete(Array.from({ length: 7 }, (_, i) => ({ prompt: String(i), maxTokens: 4 })));
      assert.ok(out.every((c) => c.finishReason === "stop"));
      assert.equal(proxy.stats.maxInFlight, 3);
      assert.equal(m.stats.maxInFlight, 3);
    } finally {
      await proxy.close();
    }
  });
});

test("without usage the token count is an estimate, flagged", async () => {
  await withServer(async (srv) => {
    const proxy = await startProxy(srv, () => "no-usage");
    try {
      const m = new OpenAIModel({ baseUrl: proxy.url, model: "tiny", env: {} });
      const [c] = await m.complete([{ prompt: "123456789", maxTokens: 8 }]);
      assert.equal(c!.text, "ok9");
      assert.equal(c!.completionTokens, 2); // estimateTokens("ok9"): the letters "ok" one token, the digit one
      assert.equal(c!.tokensEstimated, true);
    } finally {
      await proxy.close();
    }
  });
});

test("an abort through the signal rejects the call instead of recording failures", async () => {
  await withServer(async (srv) => {
    const proxy = await startProxy(srv, () => "500");
    try {
      const m = new OpenAIModel({
        baseUrl: proxy.url,
        model: "tiny",
        maxRetries: 50,
        initialDelayMs: 20,
        maxDelayMs: 20,
        env: {},
      });
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new Error("stop now")), 60);
      await assert.rejects(m.complete([{ prompt: "1", maxTokens: 4 }], { signal: ctl.signal }), /stop now/);
      assert.equal(m.stats.failures, 0);
    } finally {
      await proxy.close();
    }
  });
});
