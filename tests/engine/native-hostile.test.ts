// The native addon against hostile arguments (issue 28): every exported function is called with
// NaN, fractions, negatives, 2**63, non-numbers, wrong buffer types, wrong argument counts,
// offsets past the heap, shape products that overflow 64 bits, out-of-range pad indices and an
// oversized scratch request, plus legitimate calls that must still run and give the right numbers
// (so the table cannot pass by refusing everything). Each call runs in its own process
// (fixtures/native-hostile-child.mjs), so one that corrupts memory takes down only itself and is
// reported as a crash: each child must exit normally having caught the expected RangeError or
// TypeError, whose message starts with the kernel's name and names the argument.
// BCR_NATIVE_ADDON points the children (and the skip check) at another build: the sanitizer
// build, or an old addon to see the table fail (bench/README.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ADDON_PATH } from "../../src/engine/native-kernels.js";

const CHILD = fileURLToPath(new URL("./fixtures/native-hostile-child.mjs", import.meta.url));
const skip = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} is not built (node scripts/build-native.mjs)`;
// Under AddressSanitizer (LD_PRELOAD=libasan) an address-space limit would stop ASan itself.
const asan = (process.env.LD_PRELOAD ?? "").includes("asan");
/** Per child: a call that hangs (a huge loop) is killed and counted as a crash. */
const TIMEOUT_MS = asan ? 120_000 : 30_000;
/** Address-space limit per child (KiB), so a huge allocation fails instead of taking the machine. */
const ADDRESS_SPACE_KIB = 8 * 1024 * 1024;

interface Case {
  name: string;
  expect: "RangeError" | "TypeError" | "ok";
  mentions: string | null;
}

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  result: { outcome: "threw" | "returned"; name?: string; code?: string | null; message?: string } | null;
}

const env = { ...process.env, BCR_NATIVE_ADDON: ADDON_PATH };

function runCase(index: number): Promise<Outcome> {
  const [cmd, args] = asan
    ? [process.execPath, [CHILD, String(index)]]
    : ["/bin/sh", ["-c", `ulimit -v ${ADDRESS_SPACE_KIB} && exec "$0" "$@"`, process.execPath, CHILD, String(index)]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, TIMEOUT_MS);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      let result: Outcome["result"] = null;
      try {
        result = JSON.parse(stdout.trim().split("\n").pop() ?? "");
      } catch {}
      resolve({ status, signal, timedOut, stdout, stderr, result });
    });
  });
}

/** Runs every case, two processes at a time (the tests share a small machine). */
async function runAll(cases: Case[]): Promise<Outcome[]> {
  const out: Outcome[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      out[i] = await runCase(i);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

type Verdict = "pass" | "crashed" | "timed out" | "returned silently" | "wrong error" | "failed";

function verdict(c: Case, o: Outcome): { verdict: Verdict; why: string } {
  const tail = `${o.stderr}${o.stdout}`.trim().split("\n").slice(-6).join("\n");
  if (o.timedOut) return { verdict: "timed out", why: `killed after ${TIMEOUT_MS} ms` };
  if (o.signal !== null || o.status !== 0 || !o.result)
    return { verdict: "crashed", why: `exit ${o.status}, signal ${o.signal}: ${tail}` };
  const r = o.result;
  if (c.expect === "ok") {
    return r.outcome === "returned"
      ? { verdict: "pass", why: "" }
      : { verdict: "failed", why: `a legitimate call threw ${r.name}: ${r.message}` };
  }
  if (r.outcome === "returned") return { verdict: "returned silently", why: "the call returned normally" };
  const kernel = c.name.split(":")[0]!;
  if (r.name !== c.expect || !r.message?.startsWith(`${kernel}: `) || (c.mentions && !r.message.includes(c.mentions)))
    return {
      verdict: "wrong error",
      why: `expected a ${c.expect} starting "${kernel}: "${c.mentions ? ` naming ${c.mentions}` : ""}, got ${r.name}: ${r.message}`,
    };
  return { verdict: "pass", why: "" };
}

const cases: Case[] = skip
  ? []
  : (JSON.parse(spawnSync(process.execPath, [CHILD, "list"], { env, encoding: "utf8" }).stdout) as Case[]);
const outcomes = skip ? [] : await runAll(cases);
const verdicts = cases.map((c, i) => verdict(c, outcomes[i]!));

test("the hostile-call table covers every exported function with at least 60 hostile calls", { skip }, () => {
  const hostile = cases.filter((c) => c.expect !== "ok");
  assert.ok(hostile.length >= 60, `${hostile.length} hostile calls`);
  assert.ok(cases.length - hostile.length >= 8, "legitimate calls that must succeed");
  const kernels = new Set(hostile.map((c) => c.name.split(":")[0]));
  for (const k of [
    "load",
    "setThreads",
    "blasInfo",
    "gemm",
    "attention",
    "attentionGrad",
    "cachedAttention",
    "layerNorm",
    "layerNormGrad",
    "gelu",
    "geluGrad",
    "lookupRows",
    "lookupRowsGrad",
    "sumSquares",
    "adamw",
    "decodeStep",
    "setVectorExp",
    "expfAgreement",
    "setAttentionBlocks",
    "attentionBlocksAgree",
  ])
    assert.ok(kernels.has(k), `no hostile call to ${k}`);
});

test("no hostile call crashes the process or returns silently; each throws the expected error", { skip }, (t) => {
  const counts = new Map<Verdict, number>();
  for (const v of verdicts) counts.set(v.verdict, (counts.get(v.verdict) ?? 0) + 1);
  const summary = [...counts].map(([k, n]) => `${k}: ${n}`).join(", ");
  t.diagnostic(`${cases.length} calls in child processes (${ADDON_PATH}): ${summary}`);
  const bad = cases
    .map((c, i) => ({ c, v: verdicts[i]! }))
    .filter(({ v }) => v.verdict !== "pass")
    .map(({ c, v }) => `  [${v.verdict}] ${c.name}: ${v.why}`);
  assert.equal(bad.length, 0, `${summary}\n${bad.join("\n")}`);
});

for (const [i, c] of cases.entries()) {
  test(`native call in a child process: ${c.name}`, () => {
    const v = verdicts[i]!;
    assert.equal(v.verdict, "pass", v.why);
  });
}
