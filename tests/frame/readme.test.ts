// notebooks/README.md's five-line analysis ("accuracy by position for bcr at N=4, per SFT seed, with
// bands"), run exactly as written: the block's import line names what src/index.ts exports, and the
// rest runs with those names, from a notebooks/ folder whose ../docs/history/ladder is the fixture archive.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as aq from "arquero";
import * as frameEval from "../../src/frame/eval-rows.js";
import * as frameSummarize from "../../src/frame/summarize.js";
import { type DisplayMessage, NotebookDisplay, PLOTLY_MIME } from "../../src/notebook/display.js";
import * as px from "../../src/viz/px.js";
import { tempDir } from "../helpers/tmp.js";

type Row = Record<string, unknown>;
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

/** The ```ts block under the README's "A new analysis" heading. */
function snippet(): string {
  const text = fs.readFileSync(path.join(root, "notebooks/README.md"), "utf8");
  const section = text.split(/^## A new analysis in a few lines/m)[1];
  assert.ok(section, "notebooks/README.md has the section");
  const block = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  return block;
}

test("the README's analysis is at most five lines and imports only public names", () => {
  const lines = snippet().trimEnd().split("\n");
  assert.ok(lines.length <= 5, `${lines.length} lines`);
  const m = /^import \{([^}]*)\} from "\.\.\/dist\/index\.js";$/.exec(lines[0]!);
  assert.ok(m, `first line imports from ../dist/index.js: ${lines[0]}`);
  const index = fs.readFileSync(path.join(root, "src/index.ts"), "utf8");
  const exported = [...index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)].flatMap((x) =>
    x[1]!.split(",").map((s) => s.trim().replace(/^type\s+/, "")),
  );
  for (const name of m[1]!.split(",").map((s) => s.trim()))
    assert.ok(exported.includes(name), `${name} is exported by src/index.ts`);
});

test("the README's analysis runs as written on a results folder and shows bands per SFT seed", async () => {
  const [importLine, ...body] = snippet().split("\n");
  const names = /\{([^}]*)\}/
    .exec(importLine!)![1]!
    .split(",")
    .map((s) => s.trim());
  const lib: Record<string, unknown> = { ...frameEval, ...frameSummarize, ...px };
  // a notebooks/ folder beside docs/history/ladder/ holding the fixture archive
  const dir = tempDir("bcr-readme-");
  fs.mkdirSync(path.join(dir, "notebooks"));
  fs.mkdirSync(path.join(dir, "docs", "history"), { recursive: true });
  fs.symlinkSync(path.join(here, "fixtures/results"), path.join(dir, "docs", "history", "ladder"));
  const sent: DisplayMessage[] = [];
  const nb = new NotebookDisplay({ sink: (m) => sent.push(m) });
  const cwd = process.cwd();
  process.chdir(path.join(dir, "notebooks"));
  try {
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
      ...args: string[]
    ) => (...values: unknown[]) => Promise<void>;
    await new AsyncFunction(...names, "nb", body.join("\n"))(...names.map((n) => lib[n]), nb);
  } finally {
    process.chdir(cwd);
  }
  assert.equal(sent.length, 1);
  const fig = sent[0]!.data[PLOTLY_MIME]!;
  // two SFT seeds: a band and a mean line each, over positions 1-4 of N=4, on a [0, 1] axis
  assert.equal(fig.data.length, 4);
  assert.deepEqual(
    fig.data.filter((t) => t.fill === undefined).map((t) => t.name),
    ["0", "1"],
  );
  assert.deepEqual(fig.data[1]!.x, [1, 2, 3, 4]);
  assert.deepEqual(fig.layout.yaxis!.range, [0, 1]);
  assert.ok((fig.data[1]!.y as number[]).every((v) => v >= 0 && v <= 1));
});

test("the README's note on arquero filters: literals as written, a variable through params or aq.escape", async () => {
  const rows = await frameEval.loadEvalRows(path.join(here, "fixtures/results"));
  const method = "bcr";
  const viaParams = rows.params({ m: method }).filter((d: Row, $: Row) => d.method === $.m);
  const viaEscape = rows.filter(aq.escape((d: { method: string }) => d.method === method));
  const literal = rows.filter((d) => d.method === "bcr");
  assert.ok(literal.numRows() > 0);
  assert.equal(viaParams.numRows(), literal.numRows());
  assert.equal(viaEscape.numRows(), literal.numRows());
  assert.throws(() => rows.filter((d) => d.method === method), /closures/);
});
