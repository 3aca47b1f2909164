// The arithmetic fingerprint (src/model/arithmetic-fingerprint.ts): the same in one process and
// across processes with the same environment, and different where the bits differ: another
// OpenBLAS core type whose kernels round otherwise (Cooperlake against Haswell), another kernel
// set. The children run `bcr info --json`, which prints it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../../src/engine/backend.js";
import { ADDON_PATH } from "../../src/engine/native-kernels.js";
import { arithmeticFingerprint, isFingerprint, measureArithmetic } from "../../src/model/arithmetic-fingerprint.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

interface Child {
  arithmetic: string;
  kernels: { engine: string; blas?: { corename: string | null } } | null;
}

/** `bcr info --json` in a child process with `env` over this one's environment. */
function infoIn(env: Record<string, string>): Child {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "info", "--json"], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Child;
}

const noAddon = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} is not built (node scripts/build-native.mjs)`;

/** Why OpenBLAS's Cooperlake kernels cannot run here (they need AVX-512), or false where they can. */
function noAvx512(): string | false {
  let cpuinfo: string;
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "no /proc/cpuinfo to tell whether the CPU has AVX-512 (OpenBLAS's Cooperlake kernels need it)";
  }
  return /^flags\s*:.*\bavx512f\b/m.test(cpuinfo)
    ? false
    : "the CPU lacks AVX-512 (no avx512f in /proc/cpuinfo), which OpenBLAS's Cooperlake kernels need";
}

test("the fingerprint is 16 hex digits, the same for two calls and a fresh computation in one process", async () => {
  await initBackend();
  const a = arithmeticFingerprint();
  assert.ok(isFingerprint(a), a);
  assert.equal(arithmeticFingerprint(), a);
  assert.equal(measureArithmetic(), a, "computed again, not read from the memo");
});

test("two processes with the same environment print the same fingerprint as this one, on `bcr info`'s line too", async () => {
  await initBackend();
  const mine = arithmeticFingerprint();
  assert.deepEqual([infoIn({}).arithmetic, infoIn({}).arithmetic], [mine, mine]);
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "info"], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^arithmetic: ${mine}$`, "m"));
});

test("OPENBLAS_CORETYPE=Haswell and Cooperlake: the native set's fingerprints differ", {
  skip: noAddon || noAvx512(),
}, (t) => {
  const run = (core: string) => infoIn({ BCR_KERNELS: "native", OPENBLAS_CORETYPE: core });
  const [haswell, cooperlake] = [run("Haswell"), run("Cooperlake")];
  // OpenBLAS falls back to another core where the asked one does not fit the CPU: then the test
  // would compare something else.
  for (const [core, c] of [
    ["Haswell", haswell],
    ["Cooperlake", cooperlake],
  ] as const) {
    const ran = c.kernels?.blas?.corename;
    if (ran !== core) return t.skip(`OpenBLAS ran core ${ran} for OPENBLAS_CORETYPE=${core} here`);
  }
  assert.notEqual(haswell.arithmetic, cooperlake.arithmetic);
});

test("the wasm and native kernel sets have different fingerprints", { skip: noAddon }, () => {
  const [wasm, native] = [infoIn({ BCR_KERNELS: "wasm" }), infoIn({ BCR_KERNELS: "native" })];
  assert.deepEqual([wasm.kernels?.engine, native.kernels?.engine], ["wasm", "native"]);
  assert.notEqual(wasm.arithmetic, native.arithmetic);
});
