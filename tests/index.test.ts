// The two entry points: src/index.ts (public, what notebooks and users import) and src/internal.ts
// (`bcr-toolkit/internal`, step internals). Both list their names explicitly, share none, and every
// name a notebook imports (values and types) is public.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), "utf8");

/** The names an entry file exports through `export { a, type B, c as d } from "..."` lines. */
function exportedNames(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\bexport\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(",")) {
      const spec = part.trim().replace(/^type\s+/, "");
      if (spec)
        names.push(
          spec
            .split(/\s+as\s+/)
            .pop()!
            .trim(),
        );
    }
  }
  return names;
}

interface Cell {
  cell_type: string;
  source: string | string[];
}

/** Every name (values and types) the notebooks import from the package, with the file importing it. */
function notebookImports(): { notebook: string; from: string; name: string }[] {
  const dir = path.join(root, "notebooks");
  const out: { notebook: string; from: string; name: string }[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => x.endsWith(".ipynb"))
    .sort()) {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { cells: Cell[] };
    for (const c of nb.cells.filter((x) => x.cell_type === "code")) {
      const src = Array.isArray(c.source) ? c.source.join("") : c.source;
      for (const m of src.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
        if (!m[2]!.includes("dist/")) continue;
        for (const part of m[1]!.split(",")) {
          const name = part
            .trim()
            .replace(/^type\s+/, "")
            .split(/\s+as\s+/)[0]!
            .trim();
          if (name) out.push({ notebook: f, from: m[2]!, name });
        }
      }
    }
  }
  return out;
}

const indexText = read("src/index.ts");
const internalText = read("src/internal.ts");
const publicNames = exportedNames(indexText);
const internalNames = exportedNames(internalText);

test("src/index.ts and src/internal.ts list every export by name (no `export *`)", () => {
  assert.equal((indexText.match(/export\s*\*/g) ?? []).length, 0, "src/index.ts has an `export *`");
  assert.equal((internalText.match(/export\s*\*/g) ?? []).length, 0, "src/internal.ts has an `export *`");
  assert.ok(publicNames.length > 100, `src/index.ts exports ${publicNames.length} names`);
  assert.equal(new Set(publicNames).size, publicNames.length, "a name is exported twice by src/index.ts");
});

test("the parsed name lists match what the modules export at run time", async () => {
  // Guards the parser above: every runtime value is a parsed name (types have no runtime trace).
  const pub = Object.keys(await import("../src/index.js"));
  const int = Object.keys(await import("../src/internal.js"));
  assert.deepEqual(
    pub.filter((n) => !publicNames.includes(n)),
    [],
  );
  assert.deepEqual(
    int.filter((n) => !internalNames.includes(n)),
    [],
  );
  assert.ok(pub.includes("sweepN") && int.includes("rlStep"));
});

test("index and internal share no name", () => {
  assert.deepEqual(
    publicNames.filter((n) => internalNames.includes(n)),
    [],
  );
});

test("every name a notebook imports is public (src/index.ts), none from the internal entry", () => {
  const imports = notebookImports();
  assert.ok(imports.length > 50, `found ${imports.length} imported names in notebooks/*.ipynb`);
  for (const { notebook, from, name } of imports) {
    assert.equal(from, "../dist/index.js", `${notebook} imports ${name} from ${from}`);
    assert.ok(publicNames.includes(name), `${notebook} imports ${name}, which src/index.ts does not export`);
  }
  // The names the notebooks are known to use, types included (a parser that finds nothing fails here).
  const names = new Set(imports.map((i) => i.name));
  for (const n of [
    "initBackend",
    "sweepN",
    "LiveTraining",
    "loadProblemsFile",
    "Figure",
    "ScalingFit",
    "ModelServer",
  ]) {
    assert.ok(names.has(n), `no notebook imports ${n}`);
  }
});

test("package.json maps `.` and `./internal` to the compiled entry points", () => {
  const pkg = JSON.parse(read("package.json")) as {
    main: string;
    exports: Record<string, { types: string; default: string }>;
  };
  assert.equal(pkg.exports["."]!.default, `./${pkg.main}`);
  assert.deepEqual(pkg.exports["."], { types: "./dist/index.d.ts", default: "./dist/index.js" });
  assert.deepEqual(pkg.exports["./internal"], { types: "./dist/internal.d.ts", default: "./dist/internal.js" });
});

test("exportedNames reads plain, type-only and renamed specifiers", () => {
  const text = 'export { a, type B, c as d } from "./x.js";\nexport type { E, F } from "./y.js";\nexport const g = 1;';
  assert.deepEqual(exportedNames(text), ["a", "B", "d", "E", "F"]);
});
