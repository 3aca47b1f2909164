import { test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { packProblems } from "../../src/bcr/index.js";
import type { Problem } from "../../src/bcr/types.js";
import { getRewards, request, type RewardReply } from "../../src/serve/reward-client.js";
import { startRewardServer } from "../../src/serve/reward-server.js";
import { Rng } from "../../src/util/rng.js";

const quiet = { log: null } as const;

const PROBLEMS: Problem[] = [
  { id: "a", question: "What is 3 + 4?", answer: "7" },
  { id: "b", question: "What is 10 - 2?", answer: "8" },
  { id: "c", question: "What is half of 1?", answer: "1/2" },
];

/** A natural-template response with some reasoning and the given answer values. */
function respond(values: string[], filler = "Let me compute this step by step."): string {
  return values.map((v, k) => `### Problem ${k + 1}\n${filler}\nAnswer ${k + 1}: \\boxed{${v}}`).join("\n\n");
}

test("packed prompts are scored by hand-checked accuracy, with details", async () => {
  const server = await startRewardServer(quiet);
  try {
    const p = packProblems(PROBLEMS, { template: "natural" });
    const queries = [
      p.text + respond(["7", "8", "0.5"]), // 3/3 (0.5 = 1/2)
      p.text + respond(["7", "9", "\\frac{1}{2}"]), // 2/3
      p.text + respond(["1", "2", "3"]), // 0/3
      p.text + "### Problem 1\nAnswer 1: \\boxed{7}", // 1/3, two unanswered
      "<|im_start|>" + p.text + respond(["7", "8", "1"]) + "<|im_end|>", // prompt not at the start: 2/3
    ];
    const labels = [
      JSON.stringify(p.golds),
      p.golds,
      JSON.stringify(p.golds),
      JSON.stringify(p.golds),
      JSON.stringify(p.golds),
    ];
    const r = await getRewards(server.url, { query: queries, prompts: queries.map(() => p.text), labels });
    assert.deepEqual(r.rewards, [1, 2 / 3, 0, 1 / 3, 2 / 3]);
    assert.deepEqual(r.scores, r.rewards);
    assert.deepEqual(
      r.details.map((d) => d.correct),
      [
        [true, true, true],
        [true, false, true],
        [false, false, false],
        [true, false, false],
        [true, true, false],
      ],
    );
    assert.equal(r.details[4]!.truncated, false, "ends in <|im_end|>: stopped, not truncated");
    for (const d of r.details) {
      assert.equal(d.tokensPerProblem.length, 3);
      assert.ok(Math.abs(d.tokensPerProblem.reduce((a, b) => a + b, 0) - d.totalTokens) < 1e-9);
    }
    assert.deepEqual(r.extra_logs.bcr_accuracy, r.rewards);
    // N = 1 with a plain label, at the root path.
    const one = packProblems([PROBLEMS[0]!], { template: "natural" });
    const r1 = await request<RewardReply>(server.url, {
      path: "/",
      body: {
        query: [one.text + "So the answer is \\boxed{7}.", one.text + "Answer 1: \\boxed{6}"],
        prompts: [one.text, one.text],
        labels: ["7", 7],
      },
    });
    assert.equal(r1.status, 200);
    assert.deepEqual(r1.body.rewards, [1, 0]);
  } finally {
    await server.close();
  }
});

test("shapings apply per prompt group; lengths from the counter or the client", async () => {
  // kimi: l = 0.5 - (len - min)/(max - min) within a group; correct responses get +l.
  const server = await startRewardServer({ ...quiet, shaping: "kimi", counter: "chars", maxLength: 1000 });
  const lin = await startRewardServer({
    ...quiet,
    shaping: "linear",
    params: { lambda: 1 },
    counter: "chars",
    maxLength: 100,
  });
  try {
    const short = "Answer 1: \\boxed{7}"; // 19 chars
    const long = "Hmm, wait.\nAnswer 1: \\boxed{7}"; // 30 chars
    const body = { responses: [short, long, long], prompts: ["A", "A", "B"], labels: ["7", "7", "7"] };
    const r = await getRewards(server.url, body);
    // group A: short gets +0.5, long -0.5; group B alone: l = 0.
    assert.deepEqual(r.rewards, [1.5, 0.5, 1]);
    assert.deepEqual(
      r.details.map((d) => d.group),
      [0, 0, 1],
    );
    assert.deepEqual(
      r.details.map((d) => d.totalTokens),
      [19, 30, 30],
    );
    // linear: acc - lambda * len / maxLength, with the client's exact lengths when given.
    const l = await getRewards(lin.url, { ...body, response_lengths: [10, 20, 50] });
    assert.deepEqual(
      l.rewards.map((x) => +x.toFixed(12)),
      [0.9, 0.8, 0.5],
    );
    assert.deepEqual(
      l.details.map((d) => d.reward.length.toFixed(2)),
      ["-0.10", "-0.20", "-0.50"],
    );
    // truncation by length: 150 tokens >= maxLength 100 without an end marker.
    const t = await getRewards(lin.url, { responses: ["x".repeat(150)], prompts: ["A"], labels: ["7"] });
    assert.equal(t.details[0]!.truncated, true);
  } finally {
    await Promise.all([server.close(), lin.close()]);
  }
});

test("every malformed request class gets the right status and a message; the server stays up", async () => {
  const lines: string[] = [];
  const server = await startRewardServer({ log: (l) => lines.push(l), maxBodyBytes: 10_000 });
  try {
    const post = (body: unknown, path = "/get_reward") => request<{ error: string }>(server.url, { path, body });
    const expect400 = async (body: unknown, re: RegExp) => {
      const r = await post(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status}`);
      assert.match(r.body.error, re);
    };
    await expect400("{not json", /malformed JSON/);
    await expect400("", /malformed JSON/);
    await expect400("[1,2]", /JSON object/);
    await expect400({ prompts: ["p"], labels: ["1"] }, /missing field "query"/);
    await expect400({ query: ["p"], labels: ["1"] }, /missing field "prompts"/);
    await expect400({ query: ["p"], prompts: ["p"] }, /missing field "labels"/);
    await expect400({ query: [1], prompts: ["p"], labels: ["1"] }, /query\[0\] must be a string/);
    await expect400({ query: ["p"], prompts: "p", labels: ["1"] }, /"prompts" must be an array/);
    await expect400({ query: ["p", "p"], prompts: ["p"], labels: ["1"] }, /array lengths differ/);
    await expect400({ query: ["px"], prompts: ["p"], labels: [null] }, /labels\[0\]/);
    await expect400({ query: ["px"], prompts: ["p"], labels: ["[]"] }, /labels\[0\]: empty list/);
    await expect400({ query: ["px"], prompts: ["p"], labels: [{ a: 1 }] }, /labels\[0\]/);
    await expect400({ query: ["xyz"], prompts: ["p"], labels: ["1"] }, /query\[0\]: does not contain its prompt/);

    const big = await post({ query: ["x".repeat(20_000)], prompts: [""], labels: ["1"] });
    assert.equal(big.status, 413);
    assert.match(big.body.error, /over the limit/);
    // Chunked (no Content-Length): the limit is enforced while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const u = new URL(server.url);
      const req = http.request({ host: u.hostname, port: u.port, path: "/get_reward", method: "POST" }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < 30; i++) req.write("x".repeat(1000));
      req.end();
    });
    assert.equal(chunked, 413);

    assert.equal((await request(server.url, { path: "/nope" })).status, 404);
    assert.equal((await post({}, "/nope")).status, 404);
    const get = await request(server.url, { path: "/get_reward" });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, "POST");
    assert.equal((await request(server.url, { path: "/get_reward", method: "PUT", body: "{}" })).status, 405);
    assert.equal((await post({}, "/health")).status, 405);

    const health = await request<{ status: string; shaping: { name: string } }>(server.url, { path: "/health" });
    assert.equal(health.status, 200);
    assert.equal(health.body.status, "ok");
    assert.equal(health.body.shaping.name, "accuracy");
    const ok = await getRewards(server.url, { responses: ["Answer 1: \\boxed{1}"], prompts: ["p"], labels: ["1"] });
    assert.deepEqual(ok.rewards, [1]);
    // One log line per request: method, path, status, items, ms.
    assert.ok(
      lines.some((l) => / POST \/get_reward 200 items=1 [\d.]+ms$/.test(l)),
      lines.join("\n"),
    );
    assert.ok(lines.some((l) => / GET \/nope 404 items=0 /.test(l)));
    assert.equal(server.stats().inFlight, 0);
  } finally {
    await server.close();
  }
});

test("1,000 requests from 50 concurrent clients: nothing lost, nothing mis-scored", async () => {
  const server = await startRewardServer(quiet);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  try {
    const rng = new Rng(2024);
    const prompts = Array.from({ length: 20 }, (_, g) => {
      const problems = Array.from({ length: 3 }, (_, k) => {
        const a = rng.int(1, 99),
          b = rng.int(1, 99);
        return { id: `${g}-${k}`, question: `What is ${a} + ${b}?`, answer: String(a + b) };
      });
      return packProblems(problems, { template: "natural" });
    });
    // Each request: 1-16 items, each item answers a random subset correctly; expected known up front.
    const jobs = Array.from({ length: 1000 }, (_, j) => {
      const size = rng.int(1, 16);
      const query: string[] = [],
        promptList: string[] = [],
        labels: string[] = [],
        expected: number[] = [];
      for (let i = 0; i < size; i++) {
        const p = prompts[rng.int(0, prompts.length - 1)]!;
        const right = p.golds.map(() => rng.next() < 0.5);
        const values = p.golds.map((g, k) => (right[k] ? g : String(Number(g) + 1 + j)));
        query.push(p.text + respond(values, `Request ${j}, item ${i}.`));
        promptList.push(p.text);
        labels.push(JSON.stringify(p.golds));
        expected.push(right.filter(Boolean).length / 3);
      }
      return { body: { query, prompts: promptList, labels }, expected };
    });
    let next = 0,
      done = 0;
    const mismatches: string[] = [];
    const client = async () => {
      while (next < jobs.length) {
        const j = next++;
        const r = await getRewards(server.url, jobs[j]!.body, agent);
        if (JSON.stringify(r.rewards) !== JSON.stringify(jobs[j]!.expected)) mismatches.push(`request ${j}`);
        done++;
      }
    };
    await Promise.all(Array.from({ length: 50 }, client));
    assert.equal(done, 1000);
    assert.deepEqual(mismatches, []);
    const s = server.stats();
    assert.equal(s.requests, 1000);
    assert.equal(
      s.items,
      jobs.reduce((a, j) => a + j.expected.length, 0),
    );
    assert.equal(s.errors, 0);
  } finally {
    agent.destroy();
    await server.close();
  }
});

/** Starts a POST whose body is sent only when `finish` is called. */
function slowRequest(url: string, body: unknown) {
  const payload = JSON.stringify(body);
  const u = new URL(url);
  let finish!: () => void;
  const result = new Promise<{ status: number; body: RewardReply }>((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: "/get_reward",
        method: "POST",
        agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(payload)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on("error", reject);
    const half = Math.floor(payload.length / 2);
    req.write(payload.slice(0, half));
    finish = () => req.end(payload.slice(half));
  });
  return { result, finish: () => finish() };
}

function tryConnect(port: number): Promise<"connected" | string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve("connected");
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

test("close() while requests are in flight: they complete, new connections are refused", async () => {
  const server = await startRewardServer({ ...quiet, acceptGraceMs: 0 });
  const p = packProblems(PROBLEMS, { template: "natural" });
  const slow = [0, 1, 2].map((k) => {
    const values = p.golds.map((g, i) => (i < k + 1 ? g : "wrong"));
    return slowRequest(server.url, {
      query: [p.text + respond(values)],
      prompts: [p.text],
      labels: [JSON.stringify(p.golds)],
    });
  });
  // Wait until the server has all three requests (headers read, bodies pending).
  for (let i = 0; i < 200 && server.stats().inFlight < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.stats().inFlight, 3);

  let closed = false;
  const closing = server.close().then(() => {
    closed = true;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closed, false, "close() waits for in-flight requests");
  assert.equal(await tryConnect(server.port), "ECONNREFUSED");
  const health = await request(server.url, { path: "/health" }).catch((e: NodeJS.ErrnoException) => e.code);
  assert.equal(health, "ECONNREFUSED");

  slow.forEach((s) => s.finish());
  const results = await Promise.all(slow.map((s) => s.result));
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200],
  );
  assert.deepEqual(
    results.map((r) => r.body.rewards[0]),
    [1 / 3, 2 / 3, 1],
  );
  await closing;
  assert.equal(closed, true);
  assert.equal(server.stats().inFlight, 0);
});

test("/health is answered while the largest accepted request is being scored (scoring runs in workers)", {
  timeout: 120_000,
}, async () => {
  const maxBodyBytes = 16 * 2 ** 20;
  const server = await startRewardServer({ ...quiet, maxBodyBytes, scoreWorkers: 1 });
  try {
    // One body just under the limit: about 900 long packed responses, seconds of scoring.
    const p = packProblems(PROBLEMS, { template: "natural" });
    const filler = "Let me add these numbers carefully, 3 + 4 = 7, and check again. ".repeat(250);
    const one = p.text + respond(p.golds, filler);
    const perItem =
      JSON.stringify(one).length + JSON.stringify(p.text).length + JSON.stringify(JSON.stringify(p.golds)).length + 3;
    const n = Math.floor((maxBodyBytes - 64) / perItem);
    const body = JSON.stringify({
      query: Array(n).fill(one),
      prompts: Array(n).fill(p.text),
      labels: Array(n).fill(JSON.stringify(p.golds)),
    });
    assert.ok(body.length <= maxBodyBytes && body.length > maxBodyBytes * 0.9, `body ${body.length} bytes`);
    let scored = false;
    const big = request<RewardReply>(server.url, { path: "/get_reward", body, timeoutMs: 110_000 }).then((r) => {
      scored = true;
      return r;
    });
    // Poll /health until the big reply is back; count the answers that came while the server
    // held the whole body (received, not yet answered). A blocked event loop answers none.
    let answeredWhileScoring = 0;
    while (!scored) {
      const h = await request<{ status: string }>(server.url, { path: "/health" });
      assert.equal(h.status, 200);
      if (!scored && server.stats().bodyBytes === Buffer.byteLength(body)) answeredWhileScoring++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await big;
    assert.equal(r.status, 200);
    assert.equal(r.body.rewards.length, n);
    assert.ok(r.body.rewards.every((x) => x === 1));
    assert.ok(
      answeredWhileScoring >= 3,
      `health answered ${answeredWhileScoring} times while the body was being scored`,
    );
    assert.equal(server.stats().bodyBytes, 0);
  } finally {
    await server.close();
  }
});

test("stalled clients: a body or headers that stop arriving get 408 within the set timeouts; their bytes are released", {
  timeout: 60_000,
}, async () => {
  const server = await startRewardServer({ ...quiet, requestTimeoutMs: 600, headersTimeoutMs: 300 });
  const u = new URL(server.url);
  /** Opens a raw connection, writes `text`, resolves with everything the server sent once it closes. */
  const stall = (text: string) =>
    new Promise<string>((resolve) => {
      const s: net.Socket = net.connect({ host: u.hostname, port: Number(u.port) }, () => s.write(text));
      let got = "";
      s.on("data", (c: Buffer) => {
        got += c.toString();
      });
      s.on("close", () => resolve(got));
      s.on("error", () => {
        /* reset after the 408: the close handler reports what came */
      });
    });
  try {
    const big = 4 * 2 ** 20;
    const partial = "x".repeat(2 * 2 ** 20);
    const bodies = [0, 1, 2].map(() =>
      stall(`POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Length: ${big}\r\n\r\n${partial}`),
    );
    const headers = stall("POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Le");
    for (let i = 0; i < 500 && server.stats().bodyBytes < 3 * partial.length; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.stats().bodyBytes, 3 * partial.length, "the three half bodies are held while they arrive");
    for (const got of await Promise.all([...bodies, headers])) assert.match(got, /^HTTP\/1\.1 408 /);
    for (let i = 0; i < 100 && server.stats().bodyBytes > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.stats().bodyBytes, 0, "aborted bodies are dropped");
    const ok = await getRewards(server.url, { responses: ["Answer 1: \\boxed{7}"], prompts: ["p"], labels: ["7"] });
    assert.deepEqual(ok.rewards, [1]);
  } finally {
    await server.close();
  }
});
