/**
 * The layer order of src/, enforced: a module may import from its own folder and from folders in
 * lower layers, never from a higher one or from a sibling in its own layer.
 *
 *   util -> engine -> model -> bcr -> data | tasks | rewards -> run -> train -> rl -> analysis
 *     -> frame -> eval -> viz -> export | serve | notebook | diagnostics -> reproduce -> study -> profile
 *     -> cli
 *     -> index.ts | internal.ts
 *
 * docs/architecture.md says what each folder holds. A new folder must be placed here first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const LAYERS: readonly (readonly string[])[] = [
  ["util"],
  ["engine"],
  ["model"],
  ["bcr"],
  ["data", "tasks", "rewards"],
  ["run"],
  ["train"],
  ["rl"],
  ["analysis"],
  ["frame"],
  ["eval"],
  ["viz"],
  ["export", "serve", "notebook", "diagnostics"],
  ["reproduce"],
  ["study"],
  ["profile"],
  ["cli"],
  ["index.ts", "internal.ts"],
];

const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

/** Relative imports of a TypeScript source: `from "..."`, `import "..."` and `import("...")`. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]!);
  return out;
}

/** The top folder of src/ that a path lies in (a file directly in src/ is its own name). */
function topOf(srcRelative: string): string {
  return srcRelative.split(path.sep)[0]!;
}

interface Violation {
  file: string;
  imports: string;
  why: string;
}

/** Upward, sideways and unplaced imports among `files` (paths relative to src/, with their text). */
function layerViolations(files: { file: string; text: string }[]): Violation[] {
  const out: Violation[] = [];
  for (const { file, text } of files) {
    const from = topOf(file);
    const fromLayer = layerOf.get(from);
    if (fromLayer === undefined) {
      out.push({ file, imports: "", why: `src/${from} is in no layer (add it to LAYERS and docs/architecture.md)` });
      continue;
    }
    for (const spec of relativeImports(text)) {
      const target = path.normalize(path.join(path.dirname(file), spec));
      if (target.startsWith("..")) continue; // outside src/ (e.g. package.json): not a layer question
      const to = topOf(target);
      if (to === from) continue;
      const toLayer = layerOf.get(to);
      if (toLayer === undefined) out.push({ file, imports: spec, why: `src/${to} is in no layer` });
      else if (toLayer > fromLayer)
        out.push({
          file,
          imports: spec,
          why: `${from} (layer ${fromLayer}) imports ${to} (layer ${toLayer}), a higher layer`,
        });
      else if (toLayer === fromLayer)
        out.push({ file, imports: spec, why: `${from} imports ${to}, a sibling in the same layer` });
    }
  }
  return out;
}

function sourceFiles(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) out.push({ file: path.relative(dir, p), text: fs.readFileSync(p, "utf8") });
    }
  };
  walk(dir);
  return out;
}

test("imports in src/ only go down the layer order", () => {
  const files = sourceFiles(path.join(root, "src"));
  assert.ok(files.length > 50, `read ${files.length} files`);
  const bad = layerViolations(files);
  assert.deepEqual(
    bad.map((v) => `src/${v.file}: ${v.imports} (${v.why})`),
    [],
  );
});

test("the check catches an upward import, a sideways import and an unplaced folder", () => {
  const upward = layerViolations([
    { file: path.join("model", "gpt.ts"), text: `import { trainRl } from "../rl/grpo.js";` },
  ]);
  assert.equal(upward.length, 1);
  assert.match(upward[0]!.why, /model \(layer \d+\) imports rl \(layer \d+\), a higher layer/);
  // the same text with a dynamic import, and an `export ... from`, are caught too
  assert.equal(
    layerViolations([
      {
        file: "eval/x.ts",
        text: `const m = await import("../reproduce/pipeline.js");\nexport { a } from "../cli/main.js";`,
      },
    ]).length,
    2,
  );
  const sideways = layerViolations([{ file: "tasks/x.ts", text: `import { linear } from "../rewards/linear.js";` }]);
  assert.match(sideways[0]!.why, /sibling in the same layer/);
  assert.match(layerViolations([{ file: "newthing/x.ts", text: "" }])[0]!.why, /src\/newthing is in no layer/);
  // downward and same-folder imports pass
  assert.deepEqual(
    layerViolations([
      { file: "rl/grpo.ts", text: `import { GPT } from "../model/gpt.js";\nimport { x } from "./loss.js";` },
    ]),
    [],
  );
});
