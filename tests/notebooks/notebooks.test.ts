// Static checks of notebooks/*.ipynb that need no Jupyter: the kernel, cell ids, short cells,
// QUICK mode, and that every value a notebook imports from ../dist/index.js is still exported by
// src/index.ts (API drift shows here, not only when the notebooks run).
// Executing them is scripts/run-notebooks.py (`npm run notebooks:run`).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const dir = path.join(root, "notebooks");
const MAX_CELL_LINES = 12;

interface Cell {
  cell_type: string;
  id?: string;
  source: string | string[];
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name?: string } };
  nbformat: number;
  nbformat_minor: number;
}

const files = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".ipynb"))
      .sort()
  : [];
const read = (f: string): Notebook => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Notebook;
const src = (c: Cell): string => (Array.isArray(c.source) ? c.source.join("") : c.source);
const code = (nb: Notebook): string[] => nb.cells.filter((c) => c.cell_type === "code").map(src);

test("the notebooks are there", () => {
  for (const name of [
    "00_quickstart",
    "01_train",
    "02_task_scaling",
    "03_scaling_law",
    "04_gradient_stability",
    "05_metacognitive_loops",
    "06_real_models",
  ]) {
    assert.ok(files.includes(`${name}.ipynb`), `notebooks/${name}.ipynb is missing`);
  }
});

test("the in-repo kernelspec starts node_modules/.bin/tslab", () => {
  const spec = JSON.parse(fs.readFileSync(path.join(root, "jupyter/kernels/tslab/kernel.json"), "utf8")) as {
    argv: string[];
  };
  assert.equal(spec.argv[0], "{resource_dir}/../../../node_modules/.bin/tslab");
  assert.ok(
    fs.existsSync(path.join(root, "jupyter/kernels/tslab", "../../../node_modules/.bin/tslab")) ||
      !fs.existsSync(path.join(root, "node_modules")),
  );
});

for (const f of files) {
  test(`${f}: tslab kernel, unique cell ids, short cells, QUICK mode`, () => {
    const nb = read(f);
    assert.equal(nb.metadata.kernelspec?.name, "tslab");
    assert.ok(nb.nbformat === 4 && nb.nbformat_minor >= 5, "nbformat 4.5+ (cell ids)");
    const ids = nb.cells.map((c) => c.id);
    ids.forEach((id, i) => assert.ok(typeof id === "string" && id.length > 0, `cell ${i} has no id`));
    assert.equal(new Set(ids).size, ids.length, "cell ids are unique");
    nb.cells.forEach((c, i) => {
      if (c.cell_type === "code") {
        const lines = src(c).split("\n").length;
        assert.ok(
          lines <= MAX_CELL_LINES,
          `cell ${i} (${c.id}) has ${lines} lines (max ${MAX_CELL_LINES}): move logic to src/`,
        );
      }
    });
    assert.ok(
      code(nb).some((s) => s.includes('process.env.BCR_QUICK === "1"')),
      "reads BCR_QUICK",
    );
  });

  test(`${f}: imports only ../dist/index.js, node: builtins and tslab`, () => {
    for (const s of code(read(f))) {
      for (const m of s.matchAll(/\bfrom\s+"([^"]+)"/g)) {
        assert.ok(m[1] === "../dist/index.js" || m[1] === "tslab" || m[1]!.startsWith("node:"), `imports ${m[1]}`);
      }
    }
  });
}

test("notebooks write only under runs/notebooks/: reproduction paths come from findReproduceOutputs", () => {
  for (const f of files) {
    const all = code(read(f)).join("\n");
    for (const m of all.matchAll(/"\.\.\/[^"]*"/g)) {
      assert.ok(
        m[0] === '"../dist/index.js"' || m[0].startsWith('"../runs/notebooks/') || m[0].includes("datasets/"),
        `${f}: path literal ${m[0]} (scratch outputs go under ../runs/notebooks/; read the reproduction through findReproduceOutputs(".."))`,
      );
    }
    for (const m of all.matchAll(/const OUT = "([^"]+)"/g))
      assert.ok(m[1]!.startsWith("../runs/notebooks/"), `${f}: OUT = ${m[1]}`);
  }
});

test("every value the notebooks import from ../dist/index.js is exported by src/index.ts", async () => {
  const api = (await import("../../src/index.js")) as Record<string, unknown>;
  for (const f of files) {
    for (const s of code(read(f))) {
      for (const m of s.matchAll(/import\s*\{([^}]*)\}\s*from\s*"\.\.\/dist\/index\.js"/g)) {
        const names = m[1]!
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x && !x.startsWith("type "));
        for (const name of names) assert.ok(name in api, `${f} imports ${name}, which src/index.ts does not export`);
      }
    }
  }
});

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
}
const outputsOf = (nb: Notebook): Output[] => nb.cells.flatMap((c) => (c as { outputs?: Output[] }).outputs ?? []);
/** A MIME value as text: nbformat stores text as a list of lines. */
const text = (v: unknown): string | null => (typeof v === "string" ? v : Array.isArray(v) ? v.join("") : null);

test("committed outputs render when opened untrusted: every Markdown output has an HTML or plain-text twin, every figure its PNG", () => {
  for (const f of files) {
    const outs = outputsOf(read(f)).filter((o) => o.data);
    for (const o of outs) {
      const kinds = Object.keys(o.data!);
      // Jupyter Notebook 6 drops text/markdown from an untrusted notebook ("Ignoring untrusted text/markdown output").
      if (kinds.includes("text/markdown"))
        assert.ok(
          kinds.includes("text/html") || kinds.includes("text/plain"),
          `${f}: a Markdown-only output (${kinds.join(", ")})`,
        );
      // Scripts are stripped when untrusted: an interactive figure must carry its PNG inside the HTML and beside it.
      const html = text(o.data!["text/html"]);
      if (html?.includes("newPlot")) {
        assert.ok(
          kinds.includes("image/png") === html.includes("data:image/png;base64,"),
          `${f}: a figure's PNG must be both inside its HTML and beside it`,
        );
      }
    }
  }
});

test("the notebooks that show tables and figures were committed with their outputs (HTML tables, interactive figures)", () => {
  for (const f of ["00_quickstart.ipynb", "02_task_scaling.ipynb", "03_scaling_law.ipynb"]) {
    const outs = outputsOf(read(f)).filter((o) => o.data);
    const html = outs.map((o) => text(o.data!["text/html"])).filter((h): h is string => h !== null);
    assert.ok(
      html.some((h) => h.includes("<table")),
      `${f}: no HTML table in its committed outputs (run scripts/run-notebooks.py --write)`,
    );
    assert.ok(
      html.some((h) => h.includes("newPlot") && h.includes("data:image/png;base64,")),
      `${f}: no interactive figure with its PNG`,
    );
  }
});
