/**
 * No runtime import cycle anywhere in src/ (issue 31: src/train/sft.ts and data-parallel.ts used
 * to import each other through makeBatch). A cycle makes module initialisation order-dependent
 * (a worker that loads data-parallel.ts first sees sft.ts half-initialised). `import type` is
 * erased at compile time and does not count.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

/** Relative runtime imports and re-exports of each file under `root`, as resolved .ts paths. */
export function importGraph(root: string): Map<string, string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith(".ts")) files.push(p);
    }
  };
  walk(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    const deps = [...text.matchAll(/^(?:import|export)\s(?!type\b)[^;]*?from\s+"(\.[^"]+)"/gms)]
      .map((m) => path.normalize(path.join(path.dirname(f), m[1]!.replace(/\.js$/, ".ts"))))
      .filter((d) => known.has(d));
    graph.set(f, deps);
  }
  return graph;
}

/** Every cycle found by a depth-first search, each as "a -> b -> a". */
export function findCycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (n: string, stack: string[]) => {
    state.set(n, 1);
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].join(" -> "));
      else if (!state.get(d)) visit(d, stack);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of graph.keys()) if (!state.get(n)) visit(n, []);
  return cycles;
}

test("findCycles finds a cycle in a hand-made graph and none in a chain; type-only imports do not count", () => {
  assert.deepEqual(
    findCycles(
      new Map([
        ["a", ["b"]],
        ["b", ["a"]],
      ]),
    ),
    ["a -> b -> a"],
  );
  assert.deepEqual(
    findCycles(
      new Map([
        ["a", ["b"]],
        ["b", ["c"]],
        ["c", []],
      ]),
    ),
    [],
  );
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "bcr-cycles-"));
  fs.writeFileSync(path.join(dir, "x.ts"), 'import { y } from "./y.js";\nexport const x = y;\n');
  fs.writeFileSync(
    path.join(dir, "y.ts"),
    'import type { x } from "./x.js";\nexport const y = 1 as unknown as typeof x;\n',
  );
  assert.deepEqual(findCycles(importGraph(dir)), []);
  fs.writeFileSync(path.join(dir, "y.ts"), 'import { x } from "./x.js";\nexport const y = x;\n');
  assert.equal(findCycles(importGraph(dir)).length, 1);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("src/ has no runtime import cycle", () => {
  assert.deepEqual(findCycles(importGraph("src")), []);
});
