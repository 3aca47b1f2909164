import { answersMatch } from "./answers.js";
import { findAnswers, findSections } from "./extract.js";
import { countChars, estimateTokens } from "./tokens.js";
import type { ResponseScore, TemplateName } from "./types.js";

/**
 * Scores one response to a packed prompt with gold answers `golds` (n = golds.length).
 *
 * correct[k] = answersMatch(extracted answer k, golds[k]); accuracy = mean(correct) is the BCR
 * reward; answered = parseable answers; format = answered / n (reported, never added).
 *
 * Token attribution (tokensPerProblem), precisely:
 * 1. If the response has section headers (compact `k:`, natural `### Problem k`), it is cut at
 *    each header's first character: the text from header k up to the next header goes to
 *    problem k (a repeated section k adds to k).
 * 2. Otherwise it is cut right after each answer (`A<v>` / `Answer k: \boxed{..}`): the text
 *    since the previous cut goes to that answer's problem.
 * 3. Everything else (text before the first header, after the last answer, or under a header
 *    whose index is outside 1..n) is split evenly over the n problems.
 * Each piece is measured with countTokens, then all shares are rescaled so they sum exactly to
 * totalTokens = countTokens(response) (a no-op for additive counters such as the char count).
 *
 * Per-problem caps (`perProblemCap`, the equal split of a shared budget: bcr-split in the regime
 * study's experiment B): the same packed generation, but a problem whose attributed tokens exceed
 * the cap counts as unanswered (truncated at its own cap): its answer is dropped, so it is neither
 * correct nor answered, and `overCap[k]` says so. withinCap is the one comparison, used by the
 * RL reward (through here) and by the study's judge on eval rows (tokens per problem).
 */
export function scoreResponse(
  response: string,
  golds: string[],
  opts: {
    template?: TemplateName;
    countTokens?: (s: string) => number;
    truncated?: boolean;
    /** Equal split: a problem whose attributed tokens exceed this counts as unanswered (see the header). */
    perProblemCap?: number;
  } = {},
): ResponseScore {
  const template = opts.template ?? "compact";
  const countTokens = opts.countTokens ?? (template === "compact" ? countChars : estimateTokens);
  const truncated = opts.truncated ?? false;
  const n = golds.length;
  if (n === 0) throw new Error("scoreResponse: golds is empty");

  const cap = opts.perProblemCap;
  if (cap !== undefined && !(Number.isFinite(cap) && cap > 0))
    throw new Error(`scoreResponse: perProblemCap must be a positive number, got ${cap}`);
  const found = findAnswers(response, n, { template, truncated });
  const answers: (string | null)[] = new Array(n).fill(null);
  for (const a of found) answers[a.index - 1] = a.value;
  const totalTokens = countTokens(response);
  const tokensPerProblem = attributeTokens(response, n, template, found, countTokens, totalTokens);
  const overCap = cap === undefined ? undefined : tokensPerProblem.map((t) => !withinCap(t, cap));
  if (overCap) overCap.forEach((over, k) => over && (answers[k] = null));
  const correct = answers.map((a, k) => answersMatch(a, golds[k]!));
  const answered = answers.filter((a) => a !== null).length;
  return {
    correct,
    accuracy: correct.filter(Boolean).length / n,
    answered,
    format: answered / n,
    tokensPerProblem,
    totalTokens,
    truncated,
    ...(overCap ? { overCap } : {}),
  };
}

/** A problem's attributed tokens fit its cap (equal split of a shared budget; a hair of float slack). */
export function withinCap(tokens: number, cap: number): boolean {
  return tokens <= cap + 1e-9;
}

function attributeTokens(
  response: string,
  n: number,
  template: TemplateName,
  found: { index: number; end: number }[],
  countTokens: (s: string) => number,
  totalTokens: number,
): number[] {
  const cuts: { start: number; index: number }[] = []; // piece from start to next cut goes to index (0 = nobody)
  const sections = findSections(response, template);
  if (sections.length > 0) {
    cuts.push({ start: 0, index: 0 });
    for (const s of sections) cuts.push(s); // no spread: 200,000 headers overflow the call stack
  } else {
    let prev = 0;
    for (const a of [...found].sort((x, y) => x.end - y.end)) {
      if (a.end <= prev) continue;
      cuts.push({ start: prev, index: a.index });
      prev = a.end;
    }
    cuts.push({ start: prev, index: 0 });
  }
  const share = new Array<number>(n).fill(0);
  let unattributed = 0;
  for (let i = 0; i < cuts.length; i++) {
    const end = i + 1 < cuts.length ? cuts[i + 1]!.start : response.length;
    if (end <= cuts[i]!.start) continue;
    const t = countTokens(response.slice(cuts[i]!.start, end));
    const k = cuts[i]!.index;
    if (k >= 1 && k <= n) share[k - 1]! += t;
    else unattributed += t;
  }
  for (let k = 0; k < n; k++) share[k]! += unattributed / n;
  const sum = share.reduce((a, b) => a + b, 0);
  if (sum === totalTokens) return share;
  if (sum <= 0) return share.map(() => totalTokens / n);
  return share.map((s) => (s * totalTokens) / sum);
}
