/**
 * Tidy tables on top of arquero: build one from records, write it as CSV atomically, render it as
 * markdown (report, notebooks) or HTML. Numbers are printed with `digits` significant digits
 * (default 4), integers as they are, null/undefined/NaN as empty cells.
 */
import * as aq from "arquero";
import type { ColumnTable } from "arquero";
import { writeFileAtomic } from "../util/fsx.js";

export type { ColumnTable };
export type Row = Record<string, unknown>;
/**
 * An arquero table or an array of records. Any object type is accepted, interfaces included
 * (`Problem[]`, `SweepRow[]`): their own enumerable keys are the columns.
 */
export type TableLike = ColumnTable | readonly object[];

export interface FormatOptions {
  /** Significant digits for non-integer numbers (default 4). */
  digits?: number;
  /** Columns to include, in order (default all). */
  columns?: string[];
}

/** Build an arquero table from records; columns are the union of keys in first-seen order. */
export function toTable(data: TableLike): ColumnTable {
  if (!Array.isArray(data)) return data as ColumnTable;
  const rows = data as readonly Row[]; // every object reads as a record of its own keys
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of rows)
    for (const k of Object.keys(r))
      if (!seen.has(k)) {
        seen.add(k);
        names.push(k);
      }
  const cols: Record<string, unknown[]> = {};
  for (const k of names) cols[k] = rows.map((r) => (r[k] === undefined ? null : r[k]));
  return aq.table(cols);
}

export function formatValue(v: unknown, digits = 4): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "";
    if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
    return Number(v.toPrecision(digits)).toString();
  }
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, digits)).join(", ")}]`;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function formats(t: ColumnTable, digits: number, escapeText: (s: string) => string) {
  const format: Record<string, (v: unknown) => string> = {};
  const align: Record<string, "l" | "r"> = {};
  for (const name of t.columnNames()) {
    format[name] = (v) => escapeText(formatValue(v, digits));
    const vals = t.array(name) as unknown[];
    align[name] = vals.every((v) => v === null || typeof v === "number") ? "r" : "l";
  }
  return { format, align };
}

/**
 * CSV text (RFC 4180 quoting by arquero; numbers at full precision). `columns` picks and orders
 * the columns; one that no row has is written as empty cells (a file keeps its header whatever
 * the rows hold, e.g. an `error` column when nothing failed).
 */
export function toCsv(data: TableLike, opts?: { columns?: string[] }): string {
  let t = toTable(data);
  const absent = (opts?.columns ?? []).filter((c) => !t.columnNames().includes(c));
  if (absent.length > 0)
    t = t.assign(aq.table(Object.fromEntries(absent.map((c) => [c, new Array<null>(t.numRows()).fill(null)]))));
  const format: Record<string, (v: unknown) => unknown> = {};
  for (const name of t.columnNames()) format[name] = (v) => (typeof v === "number" && Number.isNaN(v) ? null : v);
  const csv = t.toCSV({ format, ...(opts?.columns ? { columns: opts.columns } : {}) });
  return csv.endsWith("\n") ? csv : csv + "\n";
}

/** Write a table as CSV, atomically (temp file + rename). */
export function writeCsv(file: string, data: TableLike, opts?: { columns?: string[] }): void {
  writeFileAtomic(file, toCsv(data, opts));
}

/**
 * Markdown's inline syntax characters, backslash-escaped so a cell reads as written:
 * `456.9*exp(-0.5751*N)` would otherwise render in italics, `<x>` as an HTML tag. (arquero
 * escapes the pipe itself.)
 */
export function escapeMarkdown(s: string): string {
  return s.replace(/\n/g, " ").replace(/[\\`*_[\]<>~]/g, (c) => `\\${c}`);
}

/** GitHub-flavoured markdown table, cells escaped (escapeMarkdown). */
export function toMarkdown(data: TableLike, opts?: FormatOptions): string {
  const t = toTable(data);
  const { format, align } = formats(t, opts?.digits ?? 4, escapeMarkdown);
  return t.toMarkdown({ format, align, ...(opts?.columns ? { columns: opts.columns } : {}) });
}

/**
 * A plain-text table (columns padded, numbers right-aligned): what a notebook shows where HTML
 * is not rendered, and what a terminal prints.
 */
export function toText(data: TableLike, opts?: FormatOptions): string {
  const t = toTable(data);
  const names = opts?.columns ?? t.columnNames();
  const { format, align } = formats(t, opts?.digits ?? 4, (s) => s.replace(/\n/g, " "));
  const cells = names.map((name) => [name, ...(t.array(name) as unknown[]).map((v) => format[name]!(v))]);
  const widths = cells.map((col) => Math.max(...col.map((c) => c.length)));
  const pad = (c: string, i: number) => (align[names[i]!] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!));
  const line = (r: number) =>
    names
      .map((_, i) => pad(cells[i]![r]!, i))
      .join("  ")
      .trimEnd();
  const rows = t.numRows();
  return (
    [line(0), widths.map((w) => "-".repeat(w)).join("  "), ...Array.from({ length: rows }, (_, r) => line(r + 1))].join(
      "\n",
    ) + "\n"
  );
}

/** HTML <table> string (cells HTML-escaped by arquero). */
export function toHtml(data: TableLike, opts?: FormatOptions): string {
  const t = toTable(data);
  const { format, align } = formats(t, opts?.digits ?? 4, (s) => s);
  return t.toHTML({ format, align, ...(opts?.columns ? { columns: opts.columns } : {}) });
}
