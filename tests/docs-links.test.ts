// Every relative link and image in the project's markdown (README.md, docs/, results/README.md,
// notebooks/README.md, bench/README.md) names a file or folder that exists, so moving a run's
// results (results/ -> docs/history/) cannot leave a dangling link.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function markdownFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(p);
    return e.name.endsWith(".md") ? [p] : [];
  });
}

/** The relative targets of `[text](target)` and `![alt](target)` outside fenced code, without #anchors. */
function relativeLinks(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, "");
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]!)
    .filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith("#"))
    .map((t) => decodeURIComponent(t.split("#")[0]!));
}

test("every relative markdown link in README.md, docs/, results/, notebooks/ and bench/ resolves", () => {
  const files = [
    path.join(root, "README.md"),
    path.join(root, "results", "README.md"),
    path.join(root, "notebooks", "README.md"),
    path.join(root, "bench", "README.md"),
    ...markdownFiles(path.join(root, "docs")),
  ];
  const missing: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const target of relativeLinks(fs.readFileSync(file, "utf8"))) {
      checked++;
      if (!fs.existsSync(path.resolve(path.dirname(file), target)))
        missing.push(`${path.relative(root, file)}: ${target}`);
    }
  }
  assert.ok(checked > 20, `only ${checked} links found`);
  assert.deepEqual(missing, []);
});
