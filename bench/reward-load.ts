/**
 * Load and fault run for the reward server, loopback only and bounded (at most `--seconds`,
 * default 20, and 50 clients): starts `bcr serve-reward` as a child process, runs 50 clients
 * posting packed responses with known rewards, sends one request near the body limit, polls
 * /health throughout, sends SIGTERM mid-load, and prints requests sent, answered, lost
 * (sent in full before SIGTERM and not answered), wrong (answered with the wrong reward),
 * refused after the signal, and /health latency (p50 / max, ms).
 *
 *   npx tsx bench/reward-load.ts [--clients 50] [--seconds 20] [--max-body-mb 16]
 */
import { spawn } from "node:child_process";
import * as http from "node:http";
import { parseArgs } from "node:util";
import { packProblems } from "../src/bcr/index.js";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "50" },
    seconds: { type: "string", default: "20" },
    "max-body-mb": { type: "string", default: "16" },
  },
});
const clients = Math.min(50, Number(values.clients));
const deadline = performance.now() + Math.min(60, Number(values.seconds)) * 1000;
const maxBody = Number(values["max-body-mb"]) * 2 ** 20;

const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "src/cli/main.ts",
    "serve-reward",
    "--port",
    "0",
    "--quiet",
    "--max-body-mb",
    String(values["max-body-mb"]),
  ],
  { stdio: ["ignore", "ignore", "pipe"] },
);
let err = "";
const url = await new Promise<string>((resolve, reject) => {
  child.stderr.on("data", (c: Buffer) => {
    err += c;
    const m = /listening on (http:\/\/\S+)/.exec(err);
    if (m) resolve(m[1]!);
  });
  child.on("exit", (code) => reject(new Error(`server exited ${code}: ${err}`)));
});
const u = new URL(url);
if (u.hostname !== "127.0.0.1") throw new Error(`not loopback: ${url}`);

const p = packProblems(
  [
    { id: "a", question: "What is 3 + 4?", answer: "7" },
    { id: "b", question: "What is 10 - 2?", answer: "8" },
  ],
  { template: "natural" },
);
const item = (right: boolean) =>
  `### Problem 1\nLet me add. 3 + 4 = 7.\nAnswer 1: \\boxed{7}\n### Problem 2\nAnswer 2: \\boxed{${right ? 8 : 9}}`;

function post(body: string): Promise<{ status: number | string; text: string; sentAt: number }> {
  return new Promise((resolve) => {
    let sentAt = Infinity;
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: "/get_reward",
        method: "POST",
        agent: false,
        headers: { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text, sentAt }));
      },
    );
    req.on("finish", () => {
      sentAt = performance.now();
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ status: e.code ?? e.message, text: "", sentAt }));
    req.end(body);
  });
}

let signalAt = Infinity;
let sent = 0,
  answered = 0,
  lost = 0,
  wrong = 0,
  refused = 0,
  other = 0;
const record = (r: Awaited<ReturnType<typeof post>>, want: number[]) => {
  sent++;
  if (r.status === 200) {
    answered++;
    if (JSON.stringify(JSON.parse(r.text).rewards) !== JSON.stringify(want)) wrong++;
  } else if (r.sentAt < signalAt) lost++;
  else if (r.status === "ECONNREFUSED") refused++;
  else other++;
};
const client = async (c: number) => {
  for (let j = 0; performance.now() < deadline && performance.now() < signalAt + 2000; j++) {
    const rights = [0, 1, 2, 3].map((k) => (c + j + k) % 3 !== 0);
    const body = JSON.stringify({
      query: rights.map((r) => p.text + item(r)),
      prompts: rights.map(() => p.text),
      labels: rights.map(() => JSON.stringify(p.golds)),
    });
    const r = await post(body);
    record(
      r,
      rights.map((r) => (r ? 1 : 0.5)),
    );
    if (r.status !== 200 && r.sentAt >= signalAt) return;
  }
};
// One body near the limit (all right answers: reward 1 each).
const one = p.text + item(true).replace("Let me add.", "Let me add. ".repeat(400));
const perItem =
  JSON.stringify(one).length + JSON.stringify(p.text).length + JSON.stringify(JSON.stringify(p.golds)).length + 3;
const n = Math.floor((maxBody - 64) / perItem);
const big = JSON.stringify({
  query: Array(n).fill(one),
  prompts: Array(n).fill(p.text),
  labels: Array(n).fill(JSON.stringify(p.golds)),
});

const health: number[] = [];
let polling = true;
const poll = (async () => {
  while (polling && performance.now() < deadline) {
    const t0 = performance.now();
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get({ host: u.hostname, port: u.port, path: "/health", agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(true));
        })
        .on("error", () => resolve(false));
    });
    if (!ok) break;
    health.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const load = Array.from({ length: clients }, (_, c) => client(c));
const bigDone = post(big).then((r) => record(r, Array(n).fill(1)));
await new Promise((r) => setTimeout(r, 3000));
signalAt = performance.now();
child.kill("SIGTERM");
const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
polling = false;
await Promise.all([...load, bigDone, poll]);
health.sort((a, b) => a - b);
console.log(
  `clients ${clients}, one ${(big.length / 2 ** 20).toFixed(1)} MiB request (${n} items), SIGTERM after 3 s; server exit ${code}`,
);
console.log(
  `requests sent ${sent}, answered ${answered}, lost ${lost}, wrong ${wrong}, refused after SIGTERM ${refused}, other errors after SIGTERM ${other}`,
);
console.log(
  `/health: ${health.length} answers, p50 ${health[Math.floor(health.length / 2)]?.toFixed(1)} ms, max ${health.at(-1)?.toFixed(1)} ms`,
);
process.exitCode = lost === 0 && wrong === 0 ? 0 : 1;
