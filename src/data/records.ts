/**
 * JSON records of a user data file, each with the 1-based line of the original file where it
 * starts, so that every reader above can say "file:12: ..." about a bad record, whatever it
 * filters, splits or shuffles later.
 *
 * Forms:
 * - JSONL: one JSON value per line; blank lines (also "\r\n" endings, whitespace) are skipped
 *   but still counted, so line numbers are those an editor shows.
 * - a JSON array (only where the caller allows it: the first non-blank character is `[`): one
 *   record per element, each with the line its element starts on.
 * A file with no records is an error naming the file: an empty data file is a mistake, and
 * saying so here keeps callers from making a run folder for nothing.
 */
import * as fs from "node:fs";

export interface LineRecord {
  /** 1-based line of the original file where the record starts. */
  line: number;
  value: unknown;
}

export function readRecords(file: string, opts: { allowArray?: boolean } = {}): LineRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  const records =
    opts.allowArray && text.trimStart().startsWith("[") ? arrayRecords(file, text) : jsonlRecords(file, text);
  if (records.length === 0) throw new Error(`${file}: no records (the file is empty or blank)`);
  return records;
}

function jsonlRecords(file: string, text: string): LineRecord[] {
  const out: LineRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    try {
      out.push({ line: i + 1, value: JSON.parse(line) });
    } catch (e) {
      throw new Error(`${file}:${i + 1}: malformed JSON line: ${(e as Error).message}`);
    }
  }
  return out;
}

function arrayRecords(file: string, text: string): LineRecord[] {
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    const line = at ? lineAt(text, Number(at[1])) : null;
    throw new Error(`${file}${line !== null ? `:${line}` : ""}: malformed JSON array: ${msg}`);
  }
  if (!Array.isArray(values)) throw new Error(`${file}: expected a JSON array of records`);
  const lines = elementLines(text);
  return values.map((value, k) => ({ line: lines[k]!, value }));
}

/** 1-based line of character offset `pos`. */
function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The line on which each element of a (valid) top-level JSON array starts: one linear scan that
 * tracks strings and nesting depth; an element starts at the first non-blank character after
 * the array's `[` or a `,` at depth 1.
 */
function elementLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0,
    line = 1,
    inString = false,
    escaped = false,
    expect = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === " " || c === "\t" || c === "\n" || c === "\r") continue;
    if (depth === 1 && expect && c !== "]") {
      out.push(line);
      expect = false;
    }
    if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      depth++;
      if (depth === 1) expect = true;
    } else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 1) expect = true;
  }
  return out;
}
