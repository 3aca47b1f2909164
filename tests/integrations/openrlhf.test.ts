import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Problem } from "../../src/bcr/types.js";
import { exportProblems } from "../../src/export/dataset.js";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(import.meta.dirname, "../..");
const SCRIPT = "integrations/openrlhf/train_bcr.sh";
const FAKE_TRAINER = `python3 ${path.join(root, "tests/integrations/fake_openrlhf.py")}`;

/** An exported OpenRLHF dataset: 3 packed prompts of N=2 problems, natural template. */
function dataset(): string {
  const dir = tempDir("bcr-openrlhf-");
  const problems: Problem[] = Array.from({ length: 6 }, (_, i) => ({
    id: `p${i}`,
    question: `What is ${i} + ${i}?`,
    answer: `${2 * i}`,
  }));
  exportProblems(problems, { outDir: dir, n: 2, seed: 1, formats: ["openrlhf"], parquet: false });
  return path.join(dir, "train.openrlhf.jsonl");
}

// Servers the script reported starting: killed after the tests if a failing script left one behind.
const started: number[] = [];
after(() => {
  for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL");
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the script; `during` is called with the child once stdout matches `waitFor`. */
function runScript(
  args: string[],
  opts: { env?: Record<string, string>; waitFor?: RegExp; during?: (pid: number) => void } = {},
): Promise<Run> {
  const child = spawn("bash", [SCRIPT, ...args], {
    cwd: root,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "",
    fired = false;
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
    if (!fired && opts.waitFor?.test(stdout)) {
      fired = true;
      opts.during?.(child.pid!);
    }
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      if (serverPid(stderr) > 0) started.push(serverPid(stderr));
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

const serverPid = (stderr: string) => Number(/reward server pid (\d+) at/.exec(stderr)?.[1]);
const serverPort = (stderr: string) => Number(/reward server pid \d+ at http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether anything accepts a connection on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

test("train_bcr.sh --dry-run: starts the server, checks /health, prints the exact OpenRLHF command, stops the server", {
  timeout: 120_000,
}, async () => {
  const data = dataset();
  const r = await runScript([
    "--dry-run",
    "--port",
    "0",
    "--data",
    data,
    "--max-length",
    "96",
    "--shaping",
    "linear",
    "--param",
    "lambda=0.5",
    "--",
    "--seed",
    "3",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const pid = serverPid(r.stderr),
    port = serverPort(r.stderr);
  assert.ok(pid > 0 && port > 0, r.stderr);
  assert.match(r.stderr, /\/health: \{"status":"ok","shaping":\{"name":"linear","params":\{"lambda":0\.5\}\}/);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, r.stdout);
  const cmd = lines[0]!;
  assert.ok(cmd.startsWith("python3 -m openrlhf.cli.train_ppo_ray "), cmd);
  for (const part of [
    `--remote_rm_url http://127.0.0.1:${port}/get_reward`,
    `--prompt_data ${data}`,
    "--input_key input --label_key label",
    "--generate_max_len 96",
    "--n_samples_per_prompt 8",
    "--advantage_estimator group_norm",
  ]) {
    assert.ok(cmd.includes(part), `${part} in ${cmd}`);
  }
  assert.ok(cmd.endsWith("--seed 3"), "flags after -- are passed through at the end");
  assert.match(r.stderr, /reward server \(pid \d+\) stopped/);
  assert.equal(alive(pid), false, "the server is stopped when the script exits");
  assert.equal(await listening(port), false);
});

test("train_bcr.sh runs the trainer against the server it started (OpenRLHF's remote reward request), then stops it", {
  timeout: 120_000,
}, async () => {
  const data = dataset();
  const r = await runScript(["--port", "0", "--data", data, "--pretrain", "some/model", "--trainer", FAKE_TRAINER]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim()) as { argv: string[]; rewards: number[]; n: number[] };
  assert.deepEqual(out.n, [2, 2, 2]);
  // per row: all answers right (1), then the last one wrong (1/2): the BCR reward, mean per-problem accuracy
  assert.deepEqual(out.rewards, [1, 0.5, 1, 0.5, 1, 0.5]);
  assert.equal(out.argv[out.argv.indexOf("--pretrain") + 1], "some/model");
  assert.equal(alive(serverPid(r.stderr)), false);
  assert.equal(await listening(serverPort(r.stderr)), false);
  // the trainer's exit status is the script's
  const exit7 = path.join(path.dirname(data), "exit7.sh");
  fs.writeFileSync(exit7, "exit 7\n");
  const failing = await runScript(["--port", "0", "--data", data, "--pretrain", "m", "--trainer", `bash ${exit7}`]);
  assert.equal(failing.code, 7, failing.stderr);
  assert.equal(alive(serverPid(failing.stderr)), false);
});

test("train_bcr.sh: SIGTERM during training stops the trainer and the server (trap)", {
  timeout: 120_000,
}, async () => {
  const data = dataset();
  const r = await runScript(["--port", "0", "--data", data, "--pretrain", "m", "--trainer", FAKE_TRAINER], {
    env: { FAKE_TRAINER_HOLD: "60" },
    waitFor: /holding/,
    during: (pid) => process.kill(pid, "SIGTERM"),
  });
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stdout, /holding/);
  const pid = serverPid(r.stderr);
  assert.ok(pid > 0, r.stderr);
  assert.equal(alive(pid), false);
  assert.equal(await listening(serverPort(r.stderr)), false);
  assert.match(r.stderr, /reward server \(pid \d+\) stopped/);
});

test("train_bcr.sh: a missing or empty data file, or no --pretrain, fails (exit 2) before a server starts", {
  timeout: 60_000,
}, async () => {
  const dir = tempDir("bcr-openrlhf-");
  const empty = path.join(dir, "empty.jsonl");
  fs.writeFileSync(empty, "\n\n");
  const cases: [string[], RegExp][] = [
    [["--dry-run", "--data", path.join(dir, "missing.jsonl")], /missing\.jsonl: no such file/],
    [["--dry-run", "--data", empty], /empty\.jsonl: empty data file/],
    [["--data", dataset()], /--pretrain is required/],
    [["--dry-run", "--data", empty, "--bogus"], /unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = await runScript(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /reward server pid/);
  }
});
