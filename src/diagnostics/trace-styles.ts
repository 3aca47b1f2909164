/**
 * Which trace styles does each model write, and how accurate is each? Reads the eval caches a
 * `bcr reproduce` runs folder holds (`eval/<method>/[seed-<k>/]{n1,sweep}/cache.jsonl`), names the
 * style of every problem's section (traceStyleOf: essential, redundant = with re-checks, merged =
 * a step doing two or more operations, shortcut = answer only) and tallies, per method and N
 * (or N and position in the pack), each style's share of problems, its accuracy and its tokens
 * per problem. Seeds are pooled.
 *
 * Why: tokens per problem can only fall with N if the model has something shorter than its N=1
 * trace that is still often right; this shows what it writes instead (e.g. more guesses, or
 * merged steps that are rarely right). Reads files only: no model.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { findSections } from "../bcr/extract.js";
import { TRACE_STYLES, traceStyleOf, type TraceStyle } from "../tasks/traces.js";
import { readJsonl, subdirectories } from "../util/fsx.js";

export type EvalKind = "sweep" | "n1";
export const EVAL_KINDS: readonly EvalKind[] = ["sweep", "n1"];

interface CacheRow {
  position: number;
  correct: boolean;
  tokens: number;
}
interface CacheEntry {
  key: { n: number };
  response: string;
  rows: CacheRow[];
}

export interface StyleTally {
  problems: number;
  right: number;
  tokens: number;
}

export interface TraceStylesRow {
  method: string;
  n: number;
  /** Position in the pack (1..N) with byPosition, else null. */
  position: number | null;
  styles: Partial<Record<TraceStyle, StyleTally>>;
}

export interface TraceStylesOptions {
  which?: EvalKind;
  byPosition?: boolean;
  /** Methods to read (default every folder under eval/). */
  methods?: string[];
}

/** The sweep cache files of one method: its own folder, or one per seed folder. */
function cacheFiles(evalDir: string, method: string, which: EvalKind): string[] {
  const dir = path.join(evalDir, method);
  const own = path.join(dir, which, "cache.jsonl");
  if (fs.existsSync(own)) return [own];
  return subdirectories(dir)
    .filter((d) => /^seed-\d+$/.test(d))
    .map((d) => path.join(dir, d, which, "cache.jsonl"))
    .filter((f) => fs.existsSync(f));
}

/** Rows per method, then N (and position), in order. A method named in `methods` without a cache throws, naming it. */
export function traceStyles(runsDir: string, opts: TraceStylesOptions = {}): TraceStylesRow[] {
  const which = opts.which ?? "sweep";
  const evalDir = path.join(runsDir, "eval");
  if (!fs.existsSync(evalDir)) throw new Error(`${evalDir} does not exist (run the eval stage of bcr reproduce first)`);
  const out: TraceStylesRow[] = [];
  for (const method of opts.methods?.length ? opts.methods : subdirectories(evalDir)) {
    const files = cacheFiles(evalDir, method, which);
    if (files.length === 0) {
      // A method asked for by name must be there; a folder found by listing may be an unfinished eval.
      if (opts.methods?.length)
        throw new Error(`${path.join(evalDir, method)}: no ${which} cache (cache.jsonl) for method ${method}`);
      continue;
    }
    // Keyed by N, or by N * 1000 + position with byPosition.
    const byKey = new Map<number, TraceStylesRow>();
    for (const file of files) {
      for (const e of readJsonl<CacheEntry>(file)) {
        const sections = findSections(e.response, "compact");
        for (const row of e.rows) {
          const key = opts.byPosition ? e.key.n * 1000 + row.position : e.key.n;
          const r = byKey.get(key) ?? {
            method,
            n: e.key.n,
            position: opts.byPosition ? row.position : null,
            styles: {},
          };
          byKey.set(key, r);
          const i = sections.findIndex((s) => s.index === row.position);
          // A problem the response never reached (truncated before its header) is an unanswered shortcut.
          const text = i < 0 ? "" : e.response.slice(sections[i]!.start, sections[i + 1]?.start).replace(/^\d+:/, "");
          const style = traceStyleOf(text);
          const t = (r.styles[style] ??= { problems: 0, right: 0, tokens: 0 });
          t.problems++;
          t.right += row.correct ? 1 : 0;
          t.tokens += row.tokens;
        }
      }
    }
    out.push(...[...byKey].sort((a, b) => a[0] - b[0]).map(([, r]) => r));
  }
  return out;
}

/** A tab-separated table: method, N (or N/position), then share / accuracy / tokens per style. */
export function formatTraceStyles(rows: readonly TraceStylesRow[], byPosition = false): string[] {
  return [
    ["method", byPosition ? "N/position" : "N", ...TRACE_STYLES.map((s) => `${s}: share / acc / tokens`)].join("\t"),
    ...rows.map((r) => {
      const total = Object.values(r.styles).reduce((a, t) => a + t.problems, 0);
      const cells = TRACE_STYLES.map((s) => {
        const t = r.styles[s];
        return t
          ? `${(t.problems / total).toFixed(3)} / ${(t.right / t.problems).toFixed(2)} / ${(t.tokens / t.problems).toFixed(1)}`
          : "-";
      });
      return [r.method, r.position === null ? String(r.n) : `${r.n}/${r.position}`, ...cells].join("\t");
    }),
  ];
}
