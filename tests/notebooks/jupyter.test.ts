// The project's Jupyter config and the runner keep the committed notebooks clean in git:
// - jupyter/jupyter_notebook_config.py, found through JUPYTER_CONFIG_PATH=<repo>/jupyter, installs a
//   save hook that strips execution timestamps and counts and viewer state, never outputs (checked by
//   saving through Jupyter's own FileContentsManager, configured as `npm run notebooks` configures it);
// - scripts/run-notebooks.py refuses --write in QUICK mode (a smoke test never replaces the committed
//   full-mode outputs) and deletes nothing (shared tiny runs are reused by their settings' hash).
// Skipped where Debian's Jupyter is not importable from /usr/bin/python3.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PY = "/usr/bin/python3";
const has = (mod: string) => spawnSync(PY, ["-c", `import ${mod}`], { stdio: "ignore" }).status === 0;
const noNotebook = has("notebook") ? false : `${PY} cannot import notebook (npm run notebooks:setup installs it)`;
const noNbformat = has("nbformat") ? false : `${PY} cannot import nbformat (npm run notebooks:setup installs it)`;

/** A notebook as Jupyter (JupyterLab, an execute-time extension) saves it after a run. */
const ranNotebook = () => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
    widgets: { "application/vnd.jupyter.widget-state+json": { state: {} } },
  },
  cells: [
    {
      cell_type: "code",
      id: "a",
      execution_count: 7,
      metadata: {
        execution: {
          "iopub.execute_input": "2025-12-06T21:00:00.000Z",
          "shell.execute_reply": "2025-12-06T21:00:01.000Z",
        },
        ExecuteTime: { start_time: "2025-12-06T21:00:00.000Z" },
        trusted: true,
        scrolled: true,
        tags: ["keep"],
      },
      source: "console.log(1)",
      outputs: [
        { output_type: "stream", name: "stdout", text: "1\n" },
        { output_type: "execute_result", execution_count: 7, data: { "text/plain": "1" }, metadata: {} },
      ],
    },
    { cell_type: "markdown", id: "b", metadata: { trusted: true }, source: "# title" },
  ],
});

test("Jupyter's save hook (jupyter/ config, via JUPYTER_CONFIG_PATH) strips run metadata and keeps outputs", {
  skip: noNotebook,
}, () => {
  const dir = tempDir("bcr-jupyter-");
  try {
    const script = `
import json, sys
from notebook.notebookapp import NotebookApp
from notebook.services.contents.filemanager import FileContentsManager
app = NotebookApp()
app.load_config_file()
cm = FileContentsManager(parent=app, root_dir=sys.argv[1])
cm.save({"type": "notebook", "format": "json", "content": json.loads(sys.argv[2])}, "nb.ipynb")
`;
    const env = {
      ...process.env,
      JUPYTER_CONFIG_PATH: path.join(root, "jupyter"),
      JUPYTER_DATA_DIR: dir,
      PYTHONDONTWRITEBYTECODE: "1",
    };
    const r = spawnSync(PY, ["-c", script, dir, JSON.stringify(ranNotebook())], { env, encoding: "utf8", cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, "nb.ipynb"), "utf8"));
    assert.deepEqual(saved.metadata, { kernelspec: ranNotebook().metadata.kernelspec }, "widget state dropped");
    const [code, md] = saved.cells;
    assert.deepEqual(code.metadata, { tags: ["keep"] }, "timestamps and viewer state dropped, tags kept");
    assert.equal(code.execution_count, null);
    // nbformat stores multi-line text as a list of lines; the outputs are otherwise as they were.
    assert.deepEqual(code.outputs, [
      { output_type: "stream", name: "stdout", text: ["1\n"] },
      { output_type: "execute_result", execution_count: null, data: { "text/plain": ["1"] }, metadata: {} },
    ]);
    assert.deepEqual(md.metadata, {});
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("run-notebooks.py refuses --write in QUICK mode and leaves the notebooks untouched", { skip: noNbformat }, () => {
  const nb = path.join(root, "notebooks", "00_quickstart.ipynb");
  const before = fs.readFileSync(nb, "utf8");
  const { BCR_QUICK: _q, ...env } = process.env;
  for (const [args, why] of [
    [["--write"], /--write is refused in QUICK mode/],
    [["--write", "--out", "/tmp/x"], /exclude each other/],
    [["--full", "--out", path.join(root, "notebooks")], /--out must not be notebooks/],
  ] as const) {
    const r = spawnSync(PY, [path.join(root, "scripts/run-notebooks.py"), ...args, nb], { encoding: "utf8", env });
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, why);
  }
  assert.equal(fs.readFileSync(nb, "utf8"), before);
});

test("run-notebooks.py deletes nothing (the shared tiny runs are reused by their settings' hash) and cleans what it writes", () => {
  const text = fs.readFileSync(path.join(root, "scripts/run-notebooks.py"), "utf8");
  assert.doesNotMatch(text, /rmtree|os\.remove|os\.unlink|\.unlink\(|shutil/);
  assert.match(text, /clean_notebook\(nb\)\n\s+nbformat\.write/);
});
