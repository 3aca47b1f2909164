// CI executes every notebook headlessly in QUICK mode through the real runner and the in-repo tslab
// kernel: setup (Jupyter present, kernelspec, dist/ built), then scripts/run-notebooks.py, which by
// default does not write the notebooks back (checked: their bytes are unchanged), so git stays clean. Notebooks write only under runs/notebooks/ (checked
// statically in tests/notebooks); QUICK mode never reads or writes runs/reproduce/ or results/.
// Takes a few minutes on 2 cores. Skipped only where Jupyter is missing and cannot be installed
// (not root: setup installs Debian's packages only as root).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PY = "/usr/bin/python3";
const hasNbclient = spawnSync(PY, ["-c", "import nbclient"], { stdio: "ignore" }).status === 0;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const skip =
  !hasNbclient && !isRoot
    ? `${PY} cannot import nbclient and this process is not root (setup installs Jupyter only as root): ` +
      "run `sudo apt-get install jupyter-notebook python3-nbconvert jupyter-client`, then `npm run notebooks:setup`"
    : false;

test("every notebook executes in QUICK mode (notebooks-setup, then run-notebooks.py, which leaves them untouched)", {
  skip,
  timeout: 900_000,
}, () => {
  const setup = spawnSync(process.execPath, [path.join(root, "scripts/notebooks-setup.mjs")], {
    cwd: root,
    encoding: "utf8",
    timeout: 600_000,
  });
  assert.equal(setup.status, 0, `notebooks-setup exit ${setup.status}\n${setup.stdout}\n${setup.stderr}`);
  const { BCR_QUICK: _q, ...env } = process.env;
  const nbDir = path.join(root, "notebooks");
  const snapshot = () =>
    fs
      .readdirSync(nbDir)
      .filter((f) => f.endsWith(".ipynb"))
      .sort()
      .map((f) => [f, fs.readFileSync(path.join(nbDir, f), "utf8")]);
  const before = snapshot();
  const run = spawnSync(PY, [path.join(root, "scripts/run-notebooks.py")], {
    cwd: root,
    encoding: "utf8",
    timeout: 880_000,
    env: { ...env, BCR_QUICK: "1" },
  });
  assert.equal(run.status, 0, `run-notebooks exit ${run.status ?? run.signal}\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /in QUICK mode/);
  assert.match(run.stdout, /(\d+)\/\1 passed/);
  assert.match(run.stdout, /not writing them back/);
  assert.deepEqual(snapshot(), before, "the committed notebooks were not rewritten");
});
