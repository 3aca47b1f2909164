#!/usr/bin/env node
// Idempotent set-up, run before `npm start` and `npm test` (prestart/pretest):
//  1. npm packages, when node_modules is missing or older than package-lock.json;
//  2. Debian packages the project uses (Jupyter for notebooks, Chromium for PNG figures and
//     browser checks, PyTorch + OpenBLAS as the benchmark's CPU peer), when run as root;
//     otherwise it prints the exact apt-get line and carries on (the parts that need them
//     say so when they run).
//  3. the native kernel addon (scripts/build-native.mjs), used by default wherever it builds.
// BCR_SKIP_APT=1 skips step 2.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const log = (m) => console.error(`[setup] ${m}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.status !== 0) {
    log(`failed: ${cmd} ${args.join(" ")} (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

// 1. npm packages
const lock = path.join(root, "package-lock.json");
const stamp = path.join(root, "node_modules", ".package-lock.json");
const stale =
  !fs.existsSync(stamp) || (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(stamp).mtimeMs + 1000);
if (stale) {
  log("installing npm packages (native tfjs packages are optional and may be skipped)");
  run("npm", ["install", "--no-audit", "--no-fund"]);
}

// 2. Debian packages
const APT = [
  "jupyter-notebook",
  "python3-nbconvert",
  "jupyter-nbconvert",
  "jupyter-client",
  "chromium",
  "python3-torch",
  "libopenblas0-pthread",
  "curl", // integrations/openrlhf/train_bcr.sh waits for /health with it
  "gcc", // builds native/kernels.c, the native kernel set (BCR_KERNELS)
  "libc6-dev",
];
if (process.env.BCR_SKIP_APT !== "1") {
  const missing = APT.filter((p) => spawnSync("dpkg", ["-s", p], { stdio: "ignore" }).status !== 0);
  if (missing.length > 0) {
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
    if (isRoot && hasApt) {
      log(`installing Debian packages: ${missing.join(" ")}`);
      const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
      run("apt-get", ["update", "-qq"], { env });
      run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
    } else {
      log(`missing Debian packages: ${missing.join(" ")}`);
      log(`install them with: sudo apt-get install -y --no-install-recommends ${missing.join(" ")}`);
    }
  }
}

// 3. the optional native addon (native/kernels.c); never fatal, it says why when it cannot build
run(process.execPath, [path.join(root, "scripts", "build-native.mjs")]);
