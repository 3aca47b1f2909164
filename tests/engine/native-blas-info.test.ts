// The BLAS library behind the native kernel set is recorded (issue 28): the file opened, its
// version and build (openblas_get_config), its core type (openblas_get_corename, and
// OPENBLAS_CORETYPE when set) and its thread count, in initBackend's BackendInfo, a run's
// backend.json and `bcr info`. None of it enters a stage hash (the kernel set and the arithmetic
// fingerprint do: tests/model/arithmetic-fingerprint.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { command as infoCommand } from "../../src/cli/commands/info.js";
import { initBackend } from "../../src/engine/backend.js";
import { ADDON_PATH, type BlasInfo } from "../../src/engine/native-kernels.js";
import { RunFolder } from "../../src/run/folder.js";
import { tempDir } from "../helpers/tmp.js";

const skip = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} is not built (node scripts/build-native.mjs)`;

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

test("the native set records its BLAS library: file, version, core type and threads, in backend.json and bcr info", {
  skip,
}, async () => {
  const saved = { kernels: process.env.BCR_KERNELS, threads: process.env.BCR_BLAS_THREADS };
  try {
    await initBackend("cpu"); // so that the wasm request below is a fresh choice
    process.env.BCR_KERNELS = "native";
    process.env.BCR_BLAS_THREADS = "2";
    const info = await initBackend("wasm");
    assert.equal(info.kernels?.engine, "native");
    if (info.kernels?.engine !== "native") return;
    const blas: BlasInfo = info.kernels.blas;
    assert.equal(blas.requested, info.kernels.library);
    assert.ok(blas.path && path.isAbsolute(blas.path), `path ${blas.path}`);
    assert.ok(blas.realPath && existsSync(blas.realPath), `realPath ${blas.realPath}`);
    assert.equal(blas.config, info.kernels.config);
    assert.match(blas.config ?? "", /OpenBLAS \d+\.\d+/);
    assert.ok(typeof blas.corename === "string" && blas.corename.length > 0, `corename ${blas.corename}`);
    assert.equal(blas.threads, 2, "openblas_get_num_threads after BCR_BLAS_THREADS=2");
    assert.ok(["sequential", "pthreads", "openmp"].includes(blas.parallel ?? ""), `parallel ${blas.parallel}`);
    assert.equal(blas.coretypeEnv, process.env.OPENBLAS_CORETYPE ?? null);

    const dir = path.join(tempDir("bcr-blas-info-"), "run");
    new RunFolder(dir).writeHeader({ test: true });
    const written = JSON.parse(readFileSync(path.join(dir, "backend.json"), "utf8"));
    assert.deepEqual(written.kernels.blas, blas);

    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(" "));
    try {
      assert.equal(await infoCommand.run(["--backend", "wasm"]), 0);
    } finally {
      console.log = log;
    }
    const text = lines.join("\n");
    assert.match(text, /^blas: {6}OpenBLAS /m);
    assert.ok(text.includes(blas.realPath!), text);
    // An OPENBLAS_CORETYPE override is named beside the core it chose.
    const override = blas.coretypeEnv ? ` (OPENBLAS_CORETYPE=${blas.coretypeEnv})` : "";
    assert.ok(text.includes(`core ${blas.corename}${override}, 2 thread(s)`), text);
  } finally {
    restore("BCR_KERNELS", saved.kernels);
    restore("BCR_BLAS_THREADS", saved.threads);
    await initBackend("cpu");
    await initBackend("wasm");
  }
});
