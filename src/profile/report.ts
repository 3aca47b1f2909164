/**
 * Small pure helpers for the reports of `npm run bench` and `bcr profile`: the parameter count
 * the architecture implies, the settled-load convention, ratios, number formatting and a
 * plain-text table.
 */

/** 1-minute load average above which a timing run is unsettled (issue 19's threshold). */
export const SETTLED_LOAD = 0.5;

/** The model fields the parameter count depends on (a subset of GPTConfig). */
export interface ShapeConfig {
  vocabSize: number;
  blockSize: number;
  nEmbd: number;
  nLayer: number;
  positions?: "learned" | "rotary" | "sections";
  sections?: { maxSection: number };
}

/**
 * Parameters of the GPT (architecture in src/model/gpt.ts's header): token and position embeddings, per block two
 * LayerNorms (2C each), qkv (3C^2 + 3C), attention output (C^2 + C), MLP (4C^2 + 4C and
 * 4C^2 + C), a final LayerNorm, and a head tied to the token embedding (no parameters).
 * Section positions add a section-id table of maxSection + 1 rows.
 */
export function gptParamCount(c: ShapeConfig): number {
  const C = c.nEmbd;
  const perBlock = 12 * C * C + 13 * C;
  const sectionRows = c.positions === "sections" && c.sections ? c.sections.maxSection + 1 : 0;
  return c.vocabSize * C + c.blockSize * C + sectionRows * C + c.nLayer * perBlock + 2 * C;
}

/** "unsettled (load 3.1)" when the 1-minute load average at the start was above the limit. */
export function settledLabel(loadAvg1: number, limit: number): string | null {
  return loadAvg1 > limit ? `unsettled (load ${loadAvg1.toFixed(1)})` : null;
}

/** a / b, or null when either is missing or b is not positive. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/** Fixed-point with a sensible number of digits for the magnitude; "-" for null. */
export function fmt(x: number | null | undefined, digits?: number): string {
  if (x == null || !Number.isFinite(x)) return "-";
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** "0.42x" or "-". */
export function fmtRatio(x: number | null | undefined): string {
  return x == null || !Number.isFinite(x) ? "-" : `${x.toFixed(2)}x`;
}

/**
 * A left-aligned first column and right-aligned other columns, a rule under the header.
 * Rows with fewer cells are padded with empty cells.
 */
export function formatTable(header: string[], rows: string[][]): string {
  const n = header.length;
  const all = [header, ...rows.map((r) => [...r, ...Array<string>(Math.max(0, n - r.length)).fill("")])];
  const widths = header.map((_, j) => Math.max(...all.map((r) => r[j]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!)))
      .join("  ")
      .trimEnd();
  return [line(all[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...all.slice(1).map(line)].join("\n");
}
