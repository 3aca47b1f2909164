import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "../../src/serve/reward-client.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function startCli(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve-reward", ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 30 s; stderr: ${stderr}`)), 30_000);
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, url, exited, out: () => stdout, err: () => stderr };
}

test("bcr serve-reward: SIGTERM finishes the in-flight request, then exits 0", { timeout: 60_000 }, async () => {
  const cli = startCli([
    "--port",
    "0",
    "--shaping",
    "linear",
    "--param",
    "lambda=0.5",
    "--counter",
    "chars",
    "--max-length",
    "100",
  ]);
  try {
    const url = await cli.url;
    const health = await request<{ status: string; shaping: { name: string; params: Record<string, number> } }>(url, {
      path: "/health",
    });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body.shaping, { name: "linear", params: { lambda: 0.5 } });

    // A request whose body is only half sent when the signal arrives.
    const payload = JSON.stringify({ responses: ["Answer 1: \\boxed{4}"], prompts: ["p"], labels: ["4"] });
    const u = new URL(url);
    let finish!: () => void;
    const inflight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: "/get_reward",
          method: "POST",
          agent: false,
          headers: { "Content-Length": String(payload.length) },
        },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.write(payload.slice(0, 10));
      finish = () => req.end(payload.slice(10));
    });
    await new Promise((r) => setTimeout(r, 200));
    cli.child.kill("SIGTERM");
    for (let i = 0; i < 100 && !/SIGTERM/.test(cli.err()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(cli.err(), /SIGTERM: no new connections; finishing 1 in-flight/);
    finish();
    const r = await inflight;
    assert.equal(r.status, 200);
    // accuracy 1 - 0.5 * 19 chars / 100
    assert.deepEqual(JSON.parse(r.body).rewards, [1 - (0.5 * 19) / 100]);
    assert.equal(await cli.exited, 0);
    assert.match(cli.out(), /POST \/get_reward 200 items=1 /);
    assert.match(cli.err(), /stopped after 2 requests, 1 items scored/);
  } finally {
    cli.child.kill("SIGKILL");
  }
});

test("bcr serve-reward scores in worker threads by default, with any shaping (a shaping given to the server as an object would score on the event loop)", {
  timeout: 60_000,
}, async () => {
  const want = Math.min(4, os.availableParallelism());
  for (const [args, workers] of [
    [[], want],
    [["--shaping", "linear", "--param", "lambda=0.5"], want],
    [["--score-workers", "0"], 0],
  ] as const) {
    const cli = startCli(["--port", "0", "--quiet", ...args]);
    try {
      const url = await cli.url;
      const health = await request<{ score_workers: number }>(url, { path: "/health" });
      assert.equal(health.body.score_workers, workers, args.join(" "));
      assert.match(cli.err(), new RegExp(`, ${workers} scoring worker\\(s\\)`));
      // and the workers score: a linear-shaped reward comes back right
      const r = await request<{ rewards: number[] }>(url, {
        path: "/get_reward",
        body: JSON.stringify({ responses: ["Answer 1: \\boxed{4}"], prompts: ["p"], labels: ["4"] }),
      });
      assert.equal(r.status, 200);
      assert.ok(r.body.rewards[0]! > 0.99 && r.body.rewards[0]! <= 1, String(r.body.rewards));
    } finally {
      cli.child.kill("SIGKILL");
      await cli.exited;
    }
  }
});

test("bcr serve-reward: --max-items and --max-body-mb set the request limits; each 413 names its flag", {
  timeout: 60_000,
}, async () => {
  const cli = startCli(["--port", "0", "--quiet", "--max-items", "3", "--max-body-mb", "0.01"]);
  try {
    const url = await cli.url;
    assert.match(cli.err(), /at most 3 items and 10485 bytes per request/);
    const health = await request<{ max_items: number; max_body_bytes: number }>(url, { path: "/health" });
    assert.deepEqual([health.body.max_items, health.body.max_body_bytes], [3, 10485]);
    const body = (n: number) => ({
      responses: Array(n).fill("Answer 1: \\boxed{4}"),
      prompts: Array(n).fill("p"),
      labels: Array(n).fill("4"),
    });
    const over = await request<{ error: string }>(url, { path: "/get_reward", body: body(4) });
    assert.equal(over.status, 413);
    assert.equal(over.body.error, "request has 4 items; this server accepts at most 3 per request (--max-items)");
    const at = await request<{ rewards: number[] }>(url, { path: "/get_reward", body: body(3) });
    assert.deepEqual([at.status, at.body.rewards], [200, [1, 1, 1]]);
    const big = await request<{ error: string }>(url, {
      path: "/get_reward",
      body: { responses: ["x".repeat(11_000)], prompts: ["p"], labels: ["4"] },
    });
    assert.equal(big.status, 413);
    assert.equal(big.body.error, "request body over the limit of 10485 bytes (--max-body-mb)");
  } finally {
    cli.child.kill("SIGKILL");
    await cli.exited;
  }
});

test("bcr serve-reward: bad flags are usage errors (exit 2)", { timeout: 60_000 }, async () => {
  for (const args of [
    ["--shaping", "nope"],
    ["--param", "lambda"],
    ["--shaping", "linear", "--param", "beta=1"],
    ["--max-items", "0"],
    ["--max-body-mb", "1000000"],
  ]) {
    const cli = startCli(args);
    cli.url.catch(() => undefined);
    assert.equal(await cli.exited, 2, `${args.join(" ")}: ${cli.err()}`);
  }
});

for (const keepAlive of [false, true])
  test(`bcr serve-reward: SIGTERM with 20 clients posting in a loop (${keepAlive ? "kept-alive connections" : "a connection per request, as OpenRLHF's requests.post"}): every request sent before the signal is answered`, {
    timeout: 120_000,
  }, async () => {
    const cli = startCli(["--port", "0", "--quiet", "--score-workers", "2"]);
    const agent = new http.Agent({ keepAlive, maxSockets: 20 });
    try {
      const url = await cli.url;
      // Heavy enough (~100 KB of text per request) that requests queue up behind the scorers.
      const response = "Adding step by step: 3 + 4 = 7. ".repeat(3000) + "\nAnswer 1: \\boxed{7}";
      const payload = JSON.stringify({ responses: [response], prompts: ["p"], labels: ["7"] });
      const u = new URL(url);
      let signalAt = Infinity;
      let stop = false;
      const outcomes: { sentAt: number; answeredAt: number; status: number | string; reward?: number }[] = [];
      const post = () =>
        new Promise<void>((resolve) => {
          const o: (typeof outcomes)[number] = { sentAt: Infinity, answeredAt: Infinity, status: "pending" };
          outcomes.push(o);
          const req = http.request(
            {
              host: u.hostname,
              port: u.port,
              path: "/get_reward",
              method: "POST",
              agent,
              headers: { "Content-Type": "application/json", "Content-Length": String(payload.length) },
            },
            (res) => {
              let body = "";
              res.on("data", (c: Buffer) => {
                body += c.toString();
              });
              res.on("end", () => {
                o.status = res.statusCode ?? 0;
                o.answeredAt = performance.now();
                if (o.status === 200) o.reward = JSON.parse(body).rewards[0];
                resolve();
              });
            },
          );
          req.on("finish", () => {
            o.sentAt = performance.now();
          }); // the whole request is written
          req.on("error", (e: NodeJS.ErrnoException) => {
            o.status = e.code ?? e.message;
            resolve();
          });
          req.end(payload);
        });
      const client = async () => {
        while (!stop) await post();
      };
      const clients = Array.from({ length: 20 }, client);
      for (let i = 0; i < 1000 && outcomes.filter((o) => o.status === 200).length < 40; i++)
        await new Promise((r) => setTimeout(r, 10));
      signalAt = performance.now();
      cli.child.kill("SIGTERM");
      // Clients keep posting until the server is gone (new connections are refused then).
      const code = await cli.exited;
      stop = true;
      await Promise.all(clients);
      const before = outcomes.filter((o) => o.sentAt < signalAt);
      const lost = before.filter((o) => o.status !== 200);
      const inFlightAtSignal = before.filter((o) => o.answeredAt > signalAt).length;
      assert.equal(code, 0);
      assert.deepEqual(
        lost.map((o) => o.status),
        [],
        `${lost.length} of ${before.length} requests sent before SIGTERM were not answered`,
      );
      assert.ok(
        before.every((o) => o.reward === 1),
        "every answer scored right",
      );
      assert.ok(inFlightAtSignal >= 10, `only ${inFlightAtSignal} requests were in flight at the signal`);
    } finally {
      agent.destroy();
      cli.child.kill("SIGKILL");
    }
  });
