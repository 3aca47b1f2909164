import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  escapeMarkdown,
  formatValue,
  toCsv,
  toHtml,
  toMarkdown,
  toTable,
  toText,
  writeCsv,
} from "../../src/analysis/tables.js";

const rows = [
  { method: "bcr", acc: 0.51234567, n: 3, note: "a|b" },
  { method: "<x>", acc: NaN, n: 4, extra: null },
];

test("toTable takes the union of keys in first-seen order", () => {
  const t = toTable(rows);
  assert.deepEqual(t.columnNames(), ["method", "acc", "n", "note", "extra"]);
  assert.equal(t.numRows(), 2);
  assert.equal(toTable(t), t);
});

test("formatValue: significant digits, integers verbatim, blanks for missing", () => {
  assert.equal(formatValue(0.51234567), "0.5123");
  assert.equal(formatValue(1234.5678, 3), "1230");
  assert.equal(formatValue(12), "12");
  assert.equal(formatValue(null), "");
  assert.equal(formatValue(NaN), "");
  assert.equal(formatValue([0.11111, 0.22222], 2), "[0.11, 0.22]");
});

test("markdown: header, alignment, rounded numbers, escaped pipes", () => {
  const md = toMarkdown(rows).trim().split("\n");
  assert.equal(md[0], "|method|acc|n|note|extra|");
  assert.equal(md[1], "|:-|-:|-:|:-|-:|");
  assert.equal(md[2], "|bcr|0.5123|3|a\\|b||");
  assert.equal(md[3], "|\\<x\\>||4|||");
  assert.equal(
    toMarkdown(rows, { columns: ["n"] })
      .trim()
      .split("\n")[0],
    "|n|",
  );
});

test("html escapes cells; csv keeps full precision and quotes", () => {
  const html = toHtml(rows);
  assert.match(html, /^<table>/);
  assert.match(html, /&lt;x&gt;/);
  assert.match(html, />0\.5123</);
  const csv = toCsv([
    { a: 0.123456789, b: "x,y" },
    { a: NaN, b: null },
  ]);
  assert.equal(csv, 'a,b\n0.123456789,"x,y"\n,\n');
});

test("writeCsv writes atomically, leaving no temp file", () => {
  const dir = tempDir("bcr-tables-");
  try {
    const file = path.join(dir, "sub", "t.csv");
    writeCsv(file, rows);
    assert.equal(fs.readFileSync(file, "utf8"), toCsv(rows));
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ["t.csv"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

interface Typed {
  id: string;
  score: number;
  tags?: string[];
}

test("interface-typed arrays (Problem[], SweepRow[]) are accepted without copying", () => {
  const typed: readonly Typed[] = [
    { id: "a", score: 0.5 },
    { id: "b", score: 2, tags: ["x"] },
  ];
  assert.match(toMarkdown(typed), /\|a\s*\|\s*0\.5\|/);
  assert.match(toHtml(typed), /<td[^>]*>b<\/td>/);
  assert.equal(toCsv(typed).split("\n")[0], "id,score,tags");
  const dir = tempDir("bcr-tables-");
  try {
    writeCsv(path.join(dir, "t.csv"), typed);
    assert.match(fs.readFileSync(path.join(dir, "t.csv"), "utf8"), /^id,score,tags\na,0\.5,/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("markdown escapes inline syntax: a formula is not italics, a tag is text", () => {
  assert.equal(escapeMarkdown("456.9*exp(-0.5751*N)"), "456.9\\*exp(-0.5751\\*N)");
  assert.equal(escapeMarkdown("a_b `c` [d] <e> ~f~ \\"), "a\\_b \\`c\\` \\[d\\] \\<e\\> \\~f\\~ \\\\");
  const md = toMarkdown([{ formula: "y = 456.9*exp(-0.5751*N)" }]);
  assert.match(md, /y = 456\.9\\\*exp\(-0\.5751\\\*N\)/);
});

test("toText: a padded plain-text table, numbers right-aligned, same rounding as markdown", () => {
  const text = toText([
    { method: "bcr", acc: 0.51234567 },
    { method: "single", acc: 12 },
  ]);
  assert.equal(text, "method     acc\n------  ------\nbcr     0.5123\nsingle      12\n");
});

test("toCsv with columns absent from every row: empty cells in the asked order (records and arquero tables)", () => {
  const rows = [{ a: 1, b: "x" }, { a: 2 }];
  assert.equal(toCsv(rows, { columns: ["a", "c", "b"] }), "a,c,b\n1,,x\n2,,\n");
  assert.equal(toCsv(toTable(rows), { columns: ["c", "a"] }), "c,a\n,1\n,2\n");
  assert.equal(toCsv([], { columns: ["a", "b"] }), "a,b\n");
});
