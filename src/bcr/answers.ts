/**
 * Answer equivalence: does a predicted answer equal the gold one?
 *
 * Both sides are normalised, then compared as numbers when both parse as numbers (relative
 * tolerance 1e-9, so 1/3 and 0.333 differ), else as strings with all whitespace removed.
 *
 * | predicted              | gold         | match | rule                                              |
 * |------------------------|--------------|-------|---------------------------------------------------|
 * | `18`                   | `18`         | yes   | integers                                          |
 * | `+7`, `−7`             | `7`, `-7`    | yes   | leading +; unicode minus is -                     |
 * | `-7`                   | `7`          | no    | sign matters                                      |
 * | `1,000` / `1{,}000`    | `1000`       | yes   | thousands separators (groups of exactly 3)        |
 * | `1,2`                  | `12`         | no    | not a thousands pattern                           |
 * | `$18`, `\$18.00`       | `18`         | yes   | currency sign dropped; 18.00 = 18                 |
 * | `50%`, `50\%`          | `50`         | yes   | percent sign dropped (0.5 vs 50% does not match)  |
 * | `1.50`                 | `1.5`        | yes   | decimals compared as numbers                      |
 * | `.5`                   | `0.5`        | yes   | leading-dot decimal                               |
 * | `3/4`, `\frac{3}{4}`   | `0.75`       | yes   | simple fractions                                  |
 * | `\dfrac{3}{4}`, `\tfrac34`, `\frac34` | `3/4` | yes | dfrac/tfrac are frac; single-digit shorthand |
 * | `-\frac{1}{2}`, `\frac{-1}{2}` | `-0.5` | yes   | sign outside or inside                            |
 * | `1 1/2`                | `3/2`        | yes   | mixed number                                      |
 * | `18 dollars`, `5 \text{ cm}`, `5 cm^2` | `18`, `5`, `5` | yes | trailing units dropped when a number remains |
 * | `x = 5`, `x=5`         | `5`          | yes   | a leading single-variable assignment is dropped   |
 * | `30^\circ`, `30°`      | `30`         | yes   | degree marks dropped                              |
 * | `\boxed{5}`, `$5$`     | `5`          | yes   | wrappers dropped                                  |
 * | `5.`                   | `5`          | yes   | trailing period                                   |
 * | `\left( 1, 2 \right)`  | `(1,2)`      | yes   | string compare after removing \left \right spaces |
 * | `\frac{\sqrt{3}}{2}`   | `\dfrac{\sqrt3}{2}` | no | no symbolic algebra: string compare only       |
 * | `Yes`                  | `yes`        | yes   | plain words compare case-insensitively            |
 * | `.` (any text)         | `.` (same)   | yes   | identical non-empty strings always match          |
 * | null, ``               | anything     | no    | missing or empty answer                           |
 */
export function answersMatch(predicted: string | null, gold: string): boolean {
  if (predicted === null || predicted === undefined || typeof gold !== "string") return false;
  if (predicted.trim() !== "" && predicted.trim() === gold.trim()) return true;
  const p = normalizeAnswer(predicted);
  const g = normalizeAnswer(gold);
  if (p === "" || g === "") return false;
  const pv = parseNumber(p);
  const gv = parseNumber(g);
  if (pv !== null && gv !== null) return Math.abs(pv - gv) <= 1e-9 * Math.max(1, Math.abs(gv));
  const ps = p.replace(/\s+/g, "");
  const gs = g.replace(/\s+/g, "");
  if (ps === gs) return true;
  return /^[a-z]+$/i.test(ps) && ps.toLowerCase() === gs.toLowerCase();
}

/** Strips wrappers and LaTeX noise that never changes an answer's value. */
export function normalizeAnswer(s: string): string {
  let t = s.trim().replace(/\u2212/g, "-");
  for (let guard = 0; guard < 4; guard++) {
    const before = t;
    t = unwrap(t, /^\\(?:boxed|fbox)\s*\{/);
    t = stripDollars(t)
      .replace(/^\\\((.*)\\\)$/s, "$1")
      .replace(/^\\\[(.*)\\\]$/s, "$1")
      .trim();
    if (t === before) break;
  }
  t = t
    .replace(/\\(?:text|textbf|textrm|mathrm|mbox|mathbf)\s*\{([^{}]*)\}/g, " $1")
    .replace(/\\left|\\right|\\!|\\,|\\;|\\:|\\ |~/g, " ")
    .replace(/\\[dt]frac/g, "\\frac")
    .replace(/\^\s*\{?\\circ\}?|°|\\degree/g, "")
    .replace(/\\%/g, "%")
    .replace(/\\\$/g, "$")
    .replace(/\{,\}/g, ",")
    .trim()
    .replace(/^[a-zA-Z]\s*=\s*(?=\S)/, "")
    .replace(/\.$/, "")
    .trim();
  return t;
}

/**
 * `$...$` / `$$...$$` around an answer with no `$` inside: the inner text. A scan rather than
 * /^\$+([^$]*)\$+$/, whose backtracking is quadratic on a long run of `$` (8.7 s for 120,000).
 */
function stripDollars(t: string): string {
  let a = 0;
  while (a < t.length && t[a] === "$") a++;
  let b = t.length;
  while (b > a && t[b - 1] === "$") b--;
  if (a === 0 || b === t.length || t.indexOf("$", a) < b) return t;
  return t.slice(a, b);
}

function unwrap(t: string, head: RegExp): string {
  const m = head.exec(t);
  if (!m || !t.endsWith("}")) return t;
  return t.slice(m[0].length, -1).trim();
}

const NUM = /^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$/;

/** The value of a numeric answer (units, $, % already tolerated), or null if it is not one. */
export function parseNumber(s: string): number | null {
  let t = s.replace(/[$%]/g, "").trim();
  if (t.length > 64) return null; // no number is this long; also keeps the regexes below linear
  // trailing units: "18 dollars", "5 cm^2", "3 m/s" only when a number remains
  const unitless = t.replace(/(?:\s+[a-zA-Z]+\.?(?:\^\{?\d+\}?)?(?:\/[a-zA-Z]+)?)+$/, "").trim();
  if (unitless !== t && /\d$/.test(unitless)) t = unitless;
  t = t.replace(/\s+/g, " ");
  const plain = numberOrNull(t);
  if (plain !== null) return plain;
  let m = /^([+-]?)\s*\\frac\s*(?:\{\s*([^{}]+?)\s*\}|(\d))\s*(?:\{\s*([^{}]+?)\s*\}|(\d))$/.exec(t);
  if (m) return fraction(m[1]!, m[2] ?? m[3]!, m[4] ?? m[5]!);
  m = /^([+-]?)\s*([^/\s]+)\s*\/\s*([^/\s]+)$/.exec(t);
  if (m) return fraction(m[1]!, m[2]!, m[3]!);
  m = /^([+-]?)(\d+) (\d+)\/(\d+)$/.exec(t);
  if (m) {
    const whole = Number(m[2]);
    const frac = Number(m[3]) / Number(m[4]);
    if (Number(m[4]) === 0) return null;
    return (m[1] === "-" ? -1 : 1) * (whole + frac);
  }
  return null;
}

function numberOrNull(t: string): number | null {
  if (!NUM.test(t) || !/\d/.test(t)) return null;
  const v = Number(t.replace(/,/g, ""));
  return Number.isFinite(v) ? v : null;
}

function fraction(sign: string, num: string, den: string): number | null {
  const a = numberOrNull(num.trim());
  const b = numberOrNull(den.trim());
  if (a === null || b === null || b === 0) return null;
  return (sign === "-" ? -1 : 1) * (a / b);
}
