#!/usr/bin/env node
// Everything the TypeScript notebooks need, idempotent (`npm run notebooks:setup`):
//   1. Jupyter (classic Notebook, nbconvert/nbclient, jupyter-client) under /usr/bin/python3.
//      Missing: as root with apt-get it installs Debian's packages; otherwise it prints the
//      exact command and exits 1.
//   2. The tslab kernel, registered WITHOUT touching any global Jupyter folder: the in-repo
//      kernelspec jupyter/kernels/tslab/kernel.json (argv = node_modules/.bin/tslab, relative to
//      the spec folder) is found through JUPYTER_PATH=<repo>/jupyter, which the notebook runner
//      and `npm run notebooks` set.
//   3. `npm run build`, so notebooks can import ../dist/index.js.
//   (The project's Jupyter config, jupyter/jupyter_notebook_config.py and jupyter_server_config.py,
//   is found the same way, through JUPYTER_CONFIG_PATH=<repo>/jupyter: its save hook strips
//   execution timestamps and counts from a notebook saved in Jupyter, never its outputs, so
//   running a committed notebook and saving it leaves git clean where the results did not change.)
//   4. notebooks/assets/plotly.min.js, copied from node_modules (git-ignored): the one plotly.js
//      the notebooks' interactive figures load (through Jupyter's /files/ route, no network).
//   5. The committed notebooks signed as trusted in this machine's Jupyter signature store, so
//      their interactive figures run when opened (untrusted, Jupyter strips scripts and the
//      figures show as their PNG; tables are HTML and show either way).
//
// `--serve` (what `npm run notebooks` runs): rebuild dist/ only when src/ is newer, then start
// Jupyter Notebook on notebooks/ at 127.0.0.1 without opening a browser. Extra arguments after
// `--` go to `jupyter notebook` (e.g. `npm run notebooks -- --port 8899`).
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const PY = "/usr/bin/python3";
const APT = ["jupyter-notebook", "python3-nbconvert", "jupyter-nbconvert", "jupyter-client"];
const KERNEL_DIR = path.join(root, "jupyter", "kernels", "tslab");
const KERNEL_SPEC = {
  argv: ["{resource_dir}/../../../node_modules/.bin/tslab", "kernel", "--config-path", "{connection_file}"],
  display_name: "TypeScript (tslab, in-repo)",
  language: "typescript",
};
const log = (m) => console.error(`[notebooks-setup] ${m}`);

/** The environment every Jupyter process of this project runs with. */
function jupyterEnv(base = process.env) {
  const withOurs = (v) => [path.join(root, "jupyter"), ...(v ? [v] : [])].join(path.delimiter);
  return {
    ...base,
    JUPYTER_PATH: withOurs(base.JUPYTER_PATH),
    JUPYTER_CONFIG_PATH: withOurs(base.JUPYTER_CONFIG_PATH),
    JUPYTER_RUNTIME_DIR: base.JUPYTER_RUNTIME_DIR ?? path.join(root, ".jupyter-runtime"),
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
  };
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.status !== 0) {
    log(`failed: ${cmd} ${args.join(" ")} (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function jupyterPresent() {
  const probe = "import notebook, nbclient, nbformat, jupyter_client";
  return fs.existsSync("/usr/bin/jupyter") && spawnSync(PY, ["-c", probe], { stdio: "ignore" }).status === 0;
}

function ensureJupyter() {
  if (jupyterPresent()) return log("Jupyter: present");
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  const line = `apt-get install -y --no-install-recommends ${APT.join(" ")}`;
  if (!isRoot || !hasApt) {
    log("Jupyter is missing (Debian's classic Notebook and nbclient under /usr/bin/python3). Install it with:");
    log(`  sudo apt-get update && sudo ${line}`);
    process.exit(1);
  }
  log(`installing Debian packages: ${APT.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env });
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...APT], { env });
  if (!jupyterPresent()) {
    log(`Jupyter still not importable from ${PY} after installing; check: ${PY} -c "import notebook, nbclient"`);
    process.exit(1);
  }
}

function ensureKernel() {
  const tslab = path.join(root, "node_modules", ".bin", "tslab");
  if (!fs.existsSync(tslab)) {
    log("node_modules/.bin/tslab is missing: run `npm install` (tslab is a devDependency)");
    process.exit(1);
  }
  const file = path.join(KERNEL_DIR, "kernel.json");
  const text = JSON.stringify(KERNEL_SPEC, null, 2) + "\n";
  if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) {
    fs.mkdirSync(KERNEL_DIR, { recursive: true });
    fs.writeFileSync(file, text);
    log(`wrote ${path.relative(root, file)}`);
  }
  const r = spawnSync(
    PY,
    [
      "-c",
      "from jupyter_client.kernelspec import KernelSpecManager as K; print(K().get_kernel_spec('tslab').resource_dir)",
    ],
    { env: jupyterEnv(), encoding: "utf8" },
  );
  const found = r.stdout?.trim();
  if (r.status !== 0 || path.resolve(found) !== KERNEL_DIR) {
    log(`kernel 'tslab' resolves to ${found || "(nothing)"}, expected ${KERNEL_DIR}: ${r.stderr?.trim() ?? ""}`);
    process.exit(1);
  }
  log(`kernel: tslab -> ${path.relative(root, KERNEL_DIR)} (via JUPYTER_PATH, no global registration)`);
}

function newestMtime(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuild(force) {
  const out = path.join(root, "dist", "index.js");
  const stale = !fs.existsSync(out) || newestMtime(path.join(root, "src")) > fs.statSync(out).mtimeMs;
  if (!force && !stale) return log("dist/: up to date");
  log("building dist/ (npm run build)");
  run("npm", ["run", "--silent", "build"]);
}

function ensurePlotly() {
  const src = path.join(root, "node_modules", "plotly.js-dist-min", "plotly.min.js");
  const dst = path.join(root, "notebooks", "assets", "plotly.min.js");
  if (!fs.existsSync(src)) {
    log("node_modules/plotly.js-dist-min is missing: run `npm install`");
    process.exit(1);
  }
  if (fs.existsSync(dst) && fs.statSync(dst).size === fs.statSync(src).size)
    return log("plotly.js: notebooks/assets/plotly.min.js present");
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(src, dst + ".tmp");
  fs.renameSync(dst + ".tmp", dst);
  log("plotly.js: copied to notebooks/assets/plotly.min.js (git-ignored)");
}

function trustNotebooks() {
  const files = fs
    .readdirSync(path.join(root, "notebooks"))
    .filter((f) => f.endsWith(".ipynb"))
    .map((f) => path.join(root, "notebooks", f));
  const code =
    "import sys, nbformat\nfrom nbformat.sign import NotebookNotary\nn = NotebookNotary()\n" +
    "for f in sys.argv[1:]:\n    n.sign(nbformat.read(f, as_version=4))";
  const r = spawnSync(PY, ["-c", code, ...files], { env: jupyterEnv(), encoding: "utf8" });
  if (r.status !== 0)
    log(`could not sign the notebooks as trusted (figures will show as PNG until you run them): ${r.stderr?.trim()}`);
  else log(`trusted: ${files.length} notebooks (signatures in Jupyter's store, the files are unchanged)`);
}

const args = process.argv.slice(2);
const serve = args[0] === "--serve";
ensureJupyter();
ensureKernel();
ensureBuild(!serve);
ensurePlotly();
trustNotebooks();
if (serve) {
  const extra = args.slice(1).filter((a) => a !== "--");
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const jargs = [
    "notebook",
    "--no-browser",
    "--ip=127.0.0.1",
    `--notebook-dir=${path.join(root, "notebooks")}`,
    ...(isRoot ? ["--allow-root"] : []),
    ...extra,
  ];
  log(`jupyter ${jargs.join(" ")}`);
  const child = spawn("/usr/bin/jupyter", jargs, { cwd: root, stdio: "inherit", env: jupyterEnv() });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code) => process.exit(code ?? 0));
} else {
  log("ready: `npm run notebooks:run` executes them headlessly, `npm run notebooks` opens Jupyter");
}
