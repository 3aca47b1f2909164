/**
 * Reward-server load test: C concurrent clients send batches of B packed-prompt responses of
 * realistic length to a `bcr serve-reward` process on loopback; reports items scored per
 * second and per-request latency percentiles. The server runs in its own process (as in a
 * cluster), so client-side work does not steal its event loop.
 *
 *   npx tsx bench/reward-server.ts [--clients 50] [--batch 8,64] [--seconds 10]
 *       [--tokens-per-problem 1700] [--n 3] [--shaping accuracy] [--url http://host:port]
 *
 * Responses: N=3 natural-template answers, each problem ~tokens-per-problem estimated tokens of
 * reasoning-like text (the paper's 5,120-token budget at N=3 is ~1,707 per problem), half of
 * the answers right. Every reply is checked against the expected rewards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { packProblems } from "../src/bcr/index.js";
import { request } from "../src/serve/reward-client.js";
import { estimateTokens } from "../src/bcr/tokens.js";
import { Rng } from "../src/util/rng.js";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "50" },
    batch: { type: "string", default: "8,64" },
    seconds: { type: "string", default: "10" },
    "tokens-per-problem": { type: "string", default: "1700" },
    n: { type: "string", default: "3" },
    shaping: { type: "string", default: "accuracy" },
    url: { type: "string" },
  },
});
const clients = Number(values.clients);
const batches = values.batch!.split(",").map(Number);
const seconds = Number(values.seconds);
const perProblem = Number(values["tokens-per-problem"]);
const n = Number(values.n);

const SENTENCES = [
  "First, let me restate what the problem asks for.",
  "We substitute the known values into the equation.",
  "Multiplying both sides by 12 gives 12x + 36 = 180.",
  "So the remaining amount is 245 - 87 = 158.",
  "Wait, let me double-check that step: 3 * 41 = 123, yes.",
  "The area is \\frac{1}{2} \\cdot 14 \\cdot 9 = 63.",
  "Therefore the total cost is $4.50 \\times 16 = 72$ dollars.",
  "Hmm, that does not match; recompute the sum.",
];

function reasoning(rng: Rng, tokens: number): string {
  let s = "";
  while (estimateTokens(s) < tokens) s += rng.pick(SENTENCES) + (rng.next() < 0.2 ? "\n\n" : " ");
  return s;
}

interface Job {
  payload: Buffer;
  expected: number[];
}

function makeJobs(rng: Rng, batch: number, count: number): Job[] {
  const texts = Array.from({ length: 16 }, () => reasoning(rng, perProblem));
  return Array.from({ length: count }, (_, j) => {
    const query: string[] = [],
      prompts: string[] = [],
      labels: string[] = [],
      expected: number[] = [];
    // G = 8 responses per prompt, as OpenRLHF sends them.
    for (let i = 0; i < batch; i++) {
      const p = packProblems(
        Array.from({ length: n }, (_, k) => {
          const a = ((j * 7 + Math.floor(i / 8) * 13 + k) % 97) + 2;
          return {
            id: `${j}-${k}`,
            question: `A shop sells ${a} items at 3 dollars each. What is the revenue?`,
            answer: String(3 * a),
          };
        }),
        { template: "natural" },
      );
      const right = p.golds.map(() => rng.next() < 0.5);
      const body = p.golds
        .map(
          (g, k) =>
            `### Problem ${k + 1}\n${texts[(i + k) % texts.length]}\nAnswer ${k + 1}: \\boxed{${right[k] ? g : "0"}}`,
        )
        .join("\n\n");
      query.push(p.text + body + "<|im_end|>");
      prompts.push(p.text);
      labels.push(JSON.stringify(p.golds));
      expected.push(right.filter(Boolean).length / n);
    }
    return { payload: Buffer.from(JSON.stringify({ query, prompts, labels })), expected };
  });
}

function post(url: URL, agent: http.Agent, payload: Buffer): Promise<{ status: number; rewards: number[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: "/get_reward",
        method: "POST",
        agent,
        headers: { "Content-Type": "application/json", "Content-Length": String(payload.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { rewards: number[] };
          resolve({ status: res.statusCode ?? 0, rewards: body.rewards });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function startServer(): Promise<{ url: string; child: ChildProcess | null }> {
  if (values.url) return { url: values.url, child: null };
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "serve-reward", "--port", "0", "--quiet", "--shaping", values.shaping!],
    { cwd: root, stdio: ["ignore", "inherit", "pipe"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  return { url, child };
}

async function main(): Promise<void> {
  const { url, child } = await startServer();
  const u = new URL(url);
  const health = await request<{ shaping: unknown }>(url, { path: "/health" });
  console.log(
    `server ${url} ${JSON.stringify(health.body.shaping)}; node ${process.version}; ${clients} clients; ${seconds} s per batch size`,
  );
  const rng = new Rng(7);
  try {
    for (const batch of batches) {
      const jobs = makeJobs(rng, batch, 64);
      const avgBytes = jobs.reduce((a, j) => a + j.payload.length, 0) / jobs.length;
      const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
      // Warm-up
      await Promise.all(jobs.slice(0, 8).map((j) => post(u, agent, j.payload)));
      const lat: number[] = [];
      let items = 0,
        bad = 0,
        next = 0;
      const t0 = performance.now();
      const deadline = t0 + seconds * 1000;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (performance.now() < deadline) {
            const job = jobs[next++ % jobs.length]!;
            const s = performance.now();
            const r = await post(u, agent, job.payload);
            lat.push(performance.now() - s);
            if (r.status !== 200 || JSON.stringify(r.rewards) !== JSON.stringify(job.expected)) bad++;
            items += batch;
          }
        }),
      );
      const wall = (performance.now() - t0) / 1000;
      agent.destroy();
      lat.sort((a, b) => a - b);
      console.log(
        `batch ${String(batch).padStart(3)}: ${lat.length} requests, ${(items / wall).toFixed(0)} responses/s, ` +
          `${(lat.length / wall).toFixed(1)} req/s, ${((avgBytes * lat.length) / wall / 2 ** 20).toFixed(1)} MiB/s in, ` +
          `latency p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms ` +
          `(request ${(avgBytes / 1024).toFixed(0)} KiB; wrong or failed: ${bad})`,
      );
    }
  } finally {
    child?.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
