import type { FoundAnswer, TemplateName } from "./types.js";

/**
 * Answer extraction: maps the answers in a response to problem indices 1..n.
 *
 * Template: given, or detected from the text (detectTemplate: `Answer k:`, `\boxed{}` or a
 * `### Problem k` heading mean natural, else compact); `onTemplate` hears which and why.
 *
 * Rules (both templates):
 * - Answers may come in any order; the index, not the position, says which problem one answers.
 * - An index answered twice: the LAST complete answer wins. Models revise ("Answer 2: 5 ...
 *   wait ... Answer 2: 6"), and the paper's setting has no rule against it; a cut-off
 *   last answer is incomplete and does not count, so the earlier complete one stands.
 * - Indices outside 1..n are ignored; problems with no answer get null.
 * - `truncated: true` (the budget cut the response) drops an answer that runs into the very end
 *   of the text when it has no closing delimiter: `A4` may have been `A46`.
 * - Never throws, whatever the text (property-tested).
 *
 * compact: a section starts at `k:` (at the start or after whitespace); an answer is `A<value>`
 *   (at the start, after whitespace or right after `k:`; value = the following non-whitespace run) and belongs to
 *   the section it sits in. With n = 1, an answer before any section belongs to problem 1.
 * natural: `Answer k: \boxed{...}` (also `Answer k:: ...`, any case); the box is parsed with a
 *   brace stack (nested braces, `\{` `\}` escaped), and prose between the colon and the box on
 *   the same line (first 2000 chars) is allowed. Without a box, the rest of that line is the answer
 *   (`Answer 2: 18 dollars.` gives `18 dollars`). With n = 1 and no `Answer 1`, the last
 *   complete bare `\boxed{...}` counts.
 */
export function extractAnswers(response: string, n: number, opts: ExtractOptions = {}): (string | null)[] {
  const out: (string | null)[] = Array.from({ length: Math.max(0, n) }, () => null);
  for (const a of findAnswers(response, n, opts)) out[a.index - 1] = a.value;
  return out;
}

export interface ExtractOptions {
  /** The response's template; absent: detected from the text (detectTemplate). */
  template?: TemplateName;
  truncated?: boolean;
  /** Called with the template used and why, when it was detected rather than given. */
  onTemplate?: (template: TemplateName, reason: string) => void;
}

// The paper's answer line, or a LaTeX box: neither can occur in the compact language, whose
// answers are `A<value>` and whose alphabet has no backslash or capitalised words.
const NATURAL_SIGNS: [RegExp, string][] = [
  [/answer\s*\d+\s*::?/i, "an `Answer k:` line"],
  [/\\(?:boxed|fbox)\s*\{/, "a \\boxed{...}"],
  [/^[ \t]*#{1,6}[ \t]*Problem[ \t]*\d+/im, "a `### Problem k` heading"],
];

/**
 * Which template a response is written in: "natural" when it has an `Answer k:` line, a
 * `\boxed{}` or a `### Problem k` heading, else "compact"; with the reason, for `onTemplate`.
 */
export function detectTemplate(response: string): { template: TemplateName; reason: string } {
  for (const [re, what] of NATURAL_SIGNS)
    if (typeof response === "string" && re.test(response))
      return { template: "natural", reason: `the text has ${what}` };
  return { template: "compact", reason: "no `Answer k:`, \\boxed{} or `### Problem k` in the text" };
}

/** All answers with index in 1..n, in text order (later ones win in extractAnswers). */
export function findAnswers(response: string, n: number, opts: ExtractOptions = {}): FoundAnswer[] {
  if (typeof response !== "string" || !(n >= 1)) return [];
  let template = opts.template;
  if (template === undefined) {
    const d = detectTemplate(response);
    template = d.template;
    opts.onTemplate?.(d.template, d.reason);
  }
  const found = template === "compact" ? findCompact(response, n) : findNatural(response, n);
  return found
    .filter((a) => a.index >= 1 && a.index <= n && !(opts.truncated && a.end >= response.length && !a.closed))
    .map(({ index, value, start, end }) => ({ index, value, start, end }));
}

interface Found extends FoundAnswer {
  closed: boolean;
}

// Matchers carry no state between calls: a global (g) regex is created in the call that uses it
// (a shared one keeps `lastIndex` from the last response it saw; issue 28.2), and `exec` on a
// single match uses a non-global one. tests/lint-regex.test.ts keeps it so for all of src/.

function findCompact(text: string, n: number): Found[] {
  const out: Found[] = [];
  let section = n === 1 ? 1 : 0;
  for (const m of text.matchAll(/(?<=^|\s)(\d+):|(?<=^|\s|\d:)A(\S+)/g)) {
    if (m[1] !== undefined) {
      section = Number(m[1]);
    } else if (section > 0) {
      const start = m.index!;
      out.push({ index: section, value: m[2]!, start, end: start + m[0].length, closed: false });
    }
  }
  return out;
}

const MAX_LINE = 2000;
/** The opening of a box, `\boxed{` or `\fbox{`; non-global, so `exec` has no `lastIndex` to keep. */
const BOX_OPEN = /\\(?:boxed|fbox)\s*\{/;

function findNatural(text: string, n: number): Found[] {
  const out: Found[] = [];
  let table: Int32Array | null = null; // built on first use: one pass instead of one scan per box
  const close = (open: number): number => (table ??= closingBraces(text))[open]!;
  for (const m of text.matchAll(/answer\s*(\d+)\s*::?/gi)) {
    const index = Number(m[1]);
    const after = m.index! + m[0].length;
    const a = answerAfter(text, after, index, close);
    if (a) out.push({ ...a, start: m.index! });
  }
  if (n === 1 && !out.some((a) => a.index === 1)) {
    let last: Found | null = null;
    for (const m of text.matchAll(new RegExp(BOX_OPEN.source, "g"))) {
      const open = m.index! + m[0].length - 1;
      const close_ = close(open);
      if (close_ >= 0)
        last = { index: 1, value: text.slice(open + 1, close_).trim(), start: m.index!, end: close_ + 1, closed: true };
    }
    if (last) out.push(last);
  }
  return out;
}

/** The answer written after `Answer k:` starting at `from`, or null if there is none. */
function answerAfter(text: string, from: number, index: number, closeOf: (open: number) => number): Found | null {
  let i = from;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  // the answer's line, looked at up to MAX_LINE chars (keeps many markers linear in the text)
  let eol = i;
  const stop = Math.min(text.length, i + MAX_LINE);
  while (eol < stop && text[eol] !== "\n") eol++;
  const line = text.slice(i, eol);
  const box = BOX_OPEN.exec(line);
  if (box) {
    const open = i + box.index + box[0].length - 1;
    const close = closeOf(open);
    if (close < 0) return null; // cut off inside the box
    return { index, value: text.slice(open + 1, close).trim(), start: i, end: close + 1, closed: true };
  }
  const value = trimAnswerLine(line);
  if (value === "") return null;
  return { index, value, start: i, end: eol, closed: eol < text.length };
}

/**
 * A bare answer line without leading `$` and trailing `$`/`.`. A scan rather than
 * /^\$+|[$.]+$/g, which retries `[$.]+` from every `$` of a run that does not reach the end
 * (quadratic in the run).
 */
function trimAnswerLine(line: string): string {
  const t = line.trim();
  let a = 0;
  while (a < t.length && t[a] === "$") a++;
  let b = t.length;
  while (b > a && (t[b - 1] === "$" || t[b - 1] === ".")) b--;
  return t.slice(a, b).trim();
}

/**
 * Index of the `}` that closes the `{` at `open`, or -1 when the text ends first.
 * A stack (depth counter) rather than a regex, so nested braces work; `\{` and `\}` are literal.
 */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

/**
 * For every `{` in text, the index of its closing `}` (-1 if none); other entries -1. One pass
 * with a stack, same escapes as matchBrace, so many unclosed boxes cost O(length), not O(length^2).
 */
export function closingBraces(text: string): Int32Array {
  const out = new Int32Array(text.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "{") stack.push(i);
    else if (c === "}" && stack.length > 0) out[stack.pop()!] = i;
  }
  return out;
}

/** Section starts (character offset, problem index) used for token attribution. */
export function findSections(response: string, template: TemplateName = "compact"): { start: number; index: number }[] {
  const re = template === "compact" ? /(?<=^|\s)(\d+):/g : /^[ \t]*#{1,6}[ \t]*Problem[ \t]*(\d+)/gim;
  const out: { start: number; index: number }[] = [];
  for (const m of response.matchAll(re)) out.push({ start: m.index!, index: Number(m[1]) });
  return out;
}
