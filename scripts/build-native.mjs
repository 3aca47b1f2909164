#!/usr/bin/env node
// Builds native/build/kernels.node (native/kernels.c: the native kernel set, OpenBLAS products
// and attention, LayerNorm and GELU in C on the wasm heap; src/engine/native-kernels.ts).
// Run by scripts/setup.mjs; safe to re-run. It needs gcc and the Node-API headers (Node's own
// include/node, else the node-api-headers npm package). Where either is missing it says so and
// exits 0: everything then runs on the wasm backend's own kernels (BCR_KERNELS=auto falls back
// and says why; an explicit BCR_KERNELS=native is refused). --strict exits 1 instead.
//
// BCR_NATIVE_SANITIZE=1 builds the same source with AddressSanitizer and UndefinedBehaviorSanitizer
// (gcc: -fsanitize=address,undefined, any finding fatal) into native/build/sanitize/kernels.node,
// beside the normal build, for the recipe in bench/README.md ("The native addon under ASan/UBSan"):
// run with BCR_NATIVE_ADDON pointing at it and libasan preloaded.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const source = path.join(root, "native", "kernels.c");
const sanitize = process.env.BCR_NATIVE_SANITIZE === "1";
const outDir = path.join(root, "native", "build", ...(sanitize ? ["sanitize"] : []));
const out = path.join(outDir, "kernels.node");
// -ffp-contract=off: every float operation rounds on its own (no fused multiply-add), so the C
// kernels compute exactly what their tfjs counterparts and each other compute (decodeStep must
// match the kernel-by-kernel step bit for bit). On x86-64 without -march it changes no code.
const flags = sanitize
  ? ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
  : ["-O2"];
flags.push("-ffp-contract=off");
const strict = process.argv.includes("--strict");
const log = (m) => console.error(`[build-native] ${m}`);

function give_up(why) {
  log(`not built: ${why}; the wasm backend's own kernels will run (BCR_KERNELS=native is refused)`);
  process.exit(strict ? 1 : 0);
}

const upToDate = fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(source).mtimeMs;
if (upToDate && !process.argv.includes("--force")) process.exit(0);

const headerDirs = [
  path.resolve(path.dirname(process.execPath), "..", "include", "node"),
  path.join(root, "node_modules", "node-api-headers", "include"),
];
const include = headerDirs.find((d) => fs.existsSync(path.join(d, "node_api.h")));
if (!include) give_up(`node_api.h not found in ${headerDirs.join(" or ")}`);
const cc = process.env.CC || "gcc";
if (spawnSync(cc, ["--version"], { stdio: "ignore" }).status !== 0)
  give_up(`no C compiler (${cc}); apt-get install gcc`);

fs.mkdirSync(outDir, { recursive: true });
// Written beside the target and renamed, so an interrupted build leaves no half-written addon.
const tmp = `${out}.tmp-${process.pid}`;
const r = spawnSync(cc, [...flags, "-shared", "-fPIC", "-Wall", "-Werror", `-I${include}`, source, "-o", tmp, "-ldl"], {
  stdio: "inherit",
});
if (r.status !== 0) {
  fs.rmSync(tmp, { force: true });
  give_up(`${cc} failed (exit ${r.status})`);
}
fs.renameSync(tmp, out);
log(
  `built ${path.relative(root, out)}${sanitize ? ` (ASan/UBSan: run with LD_PRELOAD=$(${cc} -print-file-name=libasan.so) BCR_NATIVE_ADDON=${path.relative(root, out)}, bench/README.md)` : ""}`,
);
