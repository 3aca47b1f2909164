/**
 * No matcher in src/ carries state between calls (issue 28.2): a regex with the g or y flag keeps
 * `lastIndex`, so one shared across calls (module level, or a class field, static or not) makes a
 * later `exec`/`test`/`matchAll` start where an earlier call left off. The extraction bug this
 * guards against scored 5,363 of 8,000 correct GSM8K answers 0 under mixed load. A global regex
 * created in the function that uses it (a literal in the body, `new RegExp(src, "g")` there) is
 * fresh on every call and allowed.
 *
 * The scan is on the TypeScript syntax tree: regex literals, and `new RegExp(...)`/`RegExp(...)`
 * whose flags argument is a string containing g or y (or is not a string literal: flags the scan
 * cannot read count as stateful), that are evaluated outside any function body (module level,
 * class field initialisers, static blocks).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

interface Finding {
  file: string;
  line: number;
  column: number;
  text: string;
}

/** Is the node evaluated once and shared: outside every function body, or in a class field or static block? */
function shared(node: ts.Node): boolean {
  for (let p = node.parent; p; p = p.parent) {
    if (ts.isPropertyDeclaration(p) || ts.isClassStaticBlockDeclaration(p)) return true;
    if (ts.isFunctionLike(p)) return false;
  }
  return true;
}

function statefulFlags(node: ts.Node): boolean {
  if (ts.isRegularExpressionLiteral(node)) {
    const flags = node.text.slice(node.text.lastIndexOf("/") + 1);
    return /[gy]/.test(flags);
  }
  if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression)) {
    if (node.expression.text !== "RegExp") return false;
    const args = node.arguments ?? ts.factory.createNodeArray();
    const flags = args[1];
    if (flags === undefined) {
      // new RegExp(/x/g) copies the flags of a regex literal argument
      const src = args[0];
      return src !== undefined && ts.isRegularExpressionLiteral(src) && statefulFlags(src);
    }
    if (ts.isStringLiteralLike(flags)) return /[gy]/.test(flags.text);
    return true; // flags computed at run time: cannot show they are stateless
  }
  return false;
}

export function scanSource(file: string, source: string): Finding[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Finding[] = [];
  const visit = (node: ts.Node): void => {
    if (statefulFlags(node) && shared(node)) {
      const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      out.push({ file, line: line + 1, column: character + 1, text: node.getText(sf).slice(0, 80) });
      return; // the literal inside new RegExp(/x/g) is the same finding
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

test("the scan finds shared g/y regexes (module level, class fields, static blocks) and allows per-call ones", () => {
  const src = [
    "const A = /x/g;", // 1: module level
    "export const B = [/y/y, /z/i];", // 2: inside an array at module level (only /y/y)
    'const C = new RegExp("a", "gi");', // 3
    "const D = RegExp(`b`, flags);", // 4: flags unknown
    "const E = new RegExp(/c/g);", // 5
    "class K {",
    "  static re = /d/g;", // 7
    "  private mine = new RegExp('e', 'y');", // 8
    "  static { const s = /f/g; }", // 9
    "  m(t: string) { return t.match(/ok/g); }", // per call
    "}",
    "const F = /fine/im;", // no g or y
    "export function f(t: string) { const re = /ok/g; return [...t.matchAll(re), new RegExp('x', 'g').exec(t)]; }",
    "const g = (t: string) => t.replace(/ok/g, '');",
  ].join("\n");
  const found = scanSource("x.ts", src).map((f) => f.line);
  assert.deepEqual(found, [1, 2, 3, 4, 5, 7, 8, 9]);
});

test("issue 28.2: no module-level or class-level regex with the g or y flag in src/**/*.ts", () => {
  const findings = tsFiles("src").flatMap((f) => scanSource(f, fs.readFileSync(f, "utf8")));
  assert.deepEqual(
    findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.text}`),
    [],
    "a shared global or sticky regex keeps lastIndex between calls: create it in the function that uses it, or drop the flag",
  );
});
