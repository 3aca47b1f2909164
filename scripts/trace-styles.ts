/**
 * Diagnostic: which trace styles does each model write, and how accurate is each? Reads the eval
 * caches that `bcr reproduce` wrote (`<runs>/eval/<method>/[seed-<k>/]{n1,sweep}/cache.jsonl`),
 * names the style of every problem's section (traceStyleOf: essential, redundant = with re-checks,
 * merged = a step doing two or more operations, terse = `a=55` steps, bare = values only, shortcut = answer only) and prints, per method and
 * N, each style's share of problems, its accuracy and its tokens per problem. Seeds are pooled.
 *
 *   npx tsx scripts/trace-styles.ts <runs folder> [sweep|n1] [--by-position] [method ...]
 *
 * --by-position splits every N by the problem's place in the pack (1..N), e.g. to see whether a
 * model trained on packs of 3 writes later problems of a pack of 8 as it wrote the first three.
 *
 * Why: tokens per problem can only fall with N if the model has something shorter than its N=1
 * trace that is still often right; this shows what it writes instead (e.g. more guesses, or
 * merged steps that are rarely right).
 */
import fs from "node:fs";
import path from "node:path";
import { findSections } from "../src/bcr/extract.js";
import { TRACE_STYLES, traceStyleOf, type TraceStyle } from "../src/tasks/traces.js";
import { readJsonl, subdirectories } from "../src/util/fsx.js";

interface CacheRow { position: number; correct: boolean; tokens: number }
interface CacheEntry { key: { n: number }; response: string; rows: CacheRow[] }

const args = process.argv.slice(2);
const byPosition = args.includes("--by-position");
const [runs, which = "sweep", ...only] = args.filter((a) => a !== "--by-position");
if (!runs || !["sweep", "n1"].includes(which)) {
  console.error("usage: npx tsx scripts/trace-styles.ts <runs folder> [sweep|n1] [--by-position] [method ...]");
  process.exit(2);
}
const evalDir = path.join(runs, "eval");
if (!fs.existsSync(evalDir)) {
  console.error(`trace-styles: ${evalDir} does not exist (run the eval stage of bcr reproduce first)`);
  process.exit(1);
}

/** Cache files of one method: its own folder, or one per seed folder. */
function cacheFiles(method: string): string[] {
  const dir = path.join(evalDir, method);
  const own = path.join(dir, which, "cache.jsonl");
  if (fs.existsSync(own)) return [own];
  return subdirectories(dir).filter((d) => /^seed-\d+$/.test(d)).map((d) => path.join(dir, d, which, "cache.jsonl")).filter((f) => fs.existsSync(f));
}

type Tally = { problems: number; right: number; tokens: number };
const methods = only.length ? only : subdirectories(evalDir);
console.log(["method", byPosition ? "N/position" : "N", ...TRACE_STYLES.map((s) => `${s}: share / acc / tokens`)].join("\t"));
for (const method of methods) {
  // Keyed by N, or by N * 1000 + position with --by-position.
  const byN = new Map<number, Map<TraceStyle, Tally>>();
  for (const file of cacheFiles(method)) {
    for (const e of readJsonl<CacheEntry>(file)) {
      const sections = findSections(e.response, "compact");
      for (const row of e.rows) {
        const key = byPosition ? e.key.n * 1000 + row.position : e.key.n;
        const tallies = byN.get(key) ?? new Map<TraceStyle, Tally>();
        byN.set(key, tallies);
        const i = sections.findIndex((s) => s.index === row.position);
        // A problem the response never reached (truncated before its header) is an unanswered shortcut.
        const text = i < 0 ? "" : e.response.slice(sections[i]!.start, sections[i + 1]?.start).replace(/^\d+:/, "");
        const style = traceStyleOf(text);
        const t = tallies.get(style) ?? { problems: 0, right: 0, tokens: 0 };
        t.problems++; t.right += row.correct ? 1 : 0; t.tokens += row.tokens;
        tallies.set(style, t);
      }
    }
  }
  if (byN.size === 0) console.error(`trace-styles: no ${which} cache for ${method}`);
  for (const [key, tallies] of [...byN].sort((a, b) => a[0] - b[0])) {
    const label = byPosition ? `${Math.floor(key / 1000)}/${key % 1000}` : String(key);
    const total = [...tallies.values()].reduce((a, t) => a + t.problems, 0);
    const cells = TRACE_STYLES.map((s) => {
      const t = tallies.get(s);
      return t ? `${(t.problems / total).toFixed(3)} / ${(t.right / t.problems).toFixed(2)} / ${(t.tokens / t.problems).toFixed(1)}` : "-";
    });
    console.log([method, label, ...cells].join("\t"));
  }
}
