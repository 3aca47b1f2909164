import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "../../src/serve/reward-client.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function startCli(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve-reward", ...args],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.on("data", (c: Buffer) => { stdout += c.toString(); });
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 30 s; stderr: ${stderr}`)), 30_000);
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`exited ${code}: ${stderr}`)); });
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, url, exited, out: () => stdout, err: () => stderr };
}

test("bcr serve-reward: SIGTERM finishes the in-flight request, then exits 0", { timeout: 60_000 }, async () => {
  const cli = startCli(["--port", "0", "--shaping", "linear", "--param", "lambda=0.5", "--counter", "chars", "--max-length", "100"]);
  try {
    const url = await cli.url;
    const health = await request<{ status: string; shaping: { name: string; params: Record<string, number> } }>(url, { path: "/health" });
    assert.equal(health.status, 200);
    assert.deepEqual(health.body.shaping, { name: "linear", params: { lambda: 0.5 } });

    // A request whose body is only half sent when the signal arrives.
    const payload = JSON.stringify({ responses: ["Answer 1: \\boxed{4}"], prompts: ["p"], labels: ["4"] });
    const u = new URL(url);
    let finish!: () => void;
    const inflight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, path: "/get_reward", method: "POST", agent: false,
        headers: { "Content-Length": String(payload.length) } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => { body += c.toString(); });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.write(payload.slice(0, 10));
      finish = () => req.end(payload.slice(10));
    });
    await new Promise((r) => setTimeout(r, 200));
    cli.child.kill("SIGTERM");
    for (let i = 0; i < 100 && !/SIGTERM/.test(cli.err()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(cli.err(), /SIGTERM: finishing 1 in-flight/);
    finish();
    const r = await inflight;
    assert.equal(r.status, 200);
    // accuracy 1 - 0.5 * 19 chars / 100
    assert.deepEqual(JSON.parse(r.body).rewards, [1 - 0.5 * 19 / 100]);
    assert.equal(await cli.exited, 0);
    assert.match(cli.out(), /POST \/get_reward 200 items=1 /);
    assert.match(cli.err(), /stopped after 2 requests, 1 items scored/);
  } finally {
    cli.child.kill("SIGKILL");
  }
});

test("bcr serve-reward: bad flags are usage errors (exit 2)", { timeout: 60_000 }, async () => {
  for (const args of [["--shaping", "nope"], ["--param", "lambda"], ["--shaping", "linear", "--param", "beta=1"]]) {
    const cli = startCli(args);
    cli.url.catch(() => undefined);
    assert.equal(await cli.exited, 2, `${args.join(" ")}: ${cli.err()}`);
  }
});
