import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { closingBraces, detectTemplate, extractAnswers, findSections, matchBrace } from "../../src/bcr/extract.js";
import { scoreResponse } from "../../src/bcr/score.js";
import type { TemplateName } from "../../src/bcr/types.js";
import { generateProblems } from "../../src/tasks/synthetic.js";
import { trace, TRACE_STYLES } from "../../src/tasks/traces.js";
import { Rng } from "../../src/util/rng.js";

const natural = { template: "natural" as const };

test("compact: answers map to the section they sit in", () => {
  assert.deepEqual(extractAnswers("1:47+8=55 55-15=40 40+6=46 A46 2:9-3=6 A6", 2), ["46", "6"]);
  assert.deepEqual(extractAnswers("1:A46 2:A-6", 2), ["46", "-6"]); // A right after the header, negative value
});

test("compact: out of order, twice (last wins), missing, out of range", () => {
  assert.deepEqual(extractAnswers("3:A9 1:A4", 3), ["4", null, "9"]);
  assert.deepEqual(extractAnswers("1:A4 2:A5 1:chk A7", 2), ["7", "5"]);
  assert.deepEqual(extractAnswers("1:A4 A8", 1), ["8"]);
  assert.deepEqual(extractAnswers("1:A4 5:A9 0:A1", 2), ["4", null]);
});

test("compact: answers before any section count only when n = 1; a mid-word A is not an answer", () => {
  assert.deepEqual(extractAnswers("A12", 1), ["12"]);
  assert.deepEqual(extractAnswers("A12 1:3", 2), [null, null]);
  assert.deepEqual(extractAnswers("1:chkA5 xA7", 1), [null]);
});

test("compact: a truncated response drops an answer that touches the end", () => {
  assert.deepEqual(extractAnswers("1:A46 2:9-3=6 A6", 2, { truncated: true }), ["46", null]);
  assert.deepEqual(extractAnswers("1:A46 2:9-3=6 A6", 2), ["46", "6"]);
  assert.deepEqual(extractAnswers("1:A46 2:9-3=6 A6 ", 2, { truncated: true }), ["46", "6"]);
});

test("natural: Answer k: \\boxed{..} in any order, prose around, nested braces", () => {
  const r =
    "Let me solve both.\n### Problem 2\n... so Answer 2: the total is \\boxed{\\frac{1}{2}}.\n" +
    "### Problem 1\nAnswer 1: \\boxed{ {3}+\\{4\\} }";
  assert.deepEqual(extractAnswers(r, 2, natural), ["{3}+\\{4\\}", "\\frac{1}{2}"]);
  assert.deepEqual(extractAnswers("answer 1:: \\boxed{7}", 1, natural), ["7"]); // AnswerX:: form, any case
});

test("natural: twice -> last complete wins; a cut-off box is ignored", () => {
  assert.deepEqual(extractAnswers("Answer 1: \\boxed{5}\nwait\nAnswer 1: \\boxed{6}", 1, natural), ["6"]);
  assert.deepEqual(extractAnswers("Answer 1: \\boxed{5}\nhmm Answer 1: \\boxed{\\frac{6", 1, natural), ["5"]);
});

test("natural: missing answers are null; indices outside 1..n ignored", () => {
  assert.deepEqual(extractAnswers("Answer 3: \\boxed{1}\nAnswer 0: \\boxed{2}", 2, natural), [null, null]);
  assert.deepEqual(extractAnswers("Answer 2: \\boxed{9}", 3, natural), [null, "9", null]);
});

test("natural: a bare value after Answer k:, dropped when truncated at the end of the text", () => {
  assert.deepEqual(extractAnswers("Answer 1: 18 dollars.\nAnswer 2: $5$\n", 2, natural), ["18 dollars", "5"]);
  assert.deepEqual(extractAnswers("Answer 1: 18\nAnswer 2: 5", 2, { ...natural, truncated: true }), ["18", null]);
});

test("natural: a bare \\boxed{} counts only when n = 1 (the last one)", () => {
  assert.deepEqual(extractAnswers("so \\boxed{3} no, \\boxed{4}.", 1, natural), ["4"]);
  assert.deepEqual(extractAnswers("so \\boxed{3}", 2, natural), [null, null]);
  assert.deepEqual(extractAnswers("Answer 1: \\boxed{8} and \\boxed{3}", 1, natural), ["8"]);
});

test("matchBrace finds the closing brace with a stack and reports unbalanced text", () => {
  assert.equal(matchBrace("{a{b}c}d", 0), 6);
  assert.equal(matchBrace("{a\\}b}", 0), 5);
  assert.equal(matchBrace("{a{b}", 0), -1);
});

test("closingBraces (one pass) agrees with matchBrace at every brace", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("{", "}", "a"), { maxLength: 40 }).map((a) => a.join("")),
      (t) => {
        const table = closingBraces(t);
        for (let i = 0; i < t.length; i++) if (t[i] === "{") assert.equal(table[i], matchBrace(t, i), `${t} at ${i}`);
      },
    ),
    { numRuns: 500 },
  );
});

test("extraction stays fast on adversarial text (many unclosed boxes)", () => {
  const t0 = performance.now();
  extractAnswers("\\boxed{".repeat(20000), 1, natural);
  extractAnswers("Answer 1: \\boxed{".repeat(20000), 2, natural);
  assert.ok(performance.now() - t0 < 4000); // ~0.3 s here; a scan per box (quadratic) took ~10 s; loose for a loaded CI machine
});

test("findSections finds compact headers and natural headings", () => {
  assert.deepEqual(findSections("1:3+4=7 A7 2:A1"), [
    { start: 0, index: 1 },
    { start: 11, index: 2 },
  ]);
  assert.deepEqual(findSections("x\n### Problem 2\ny\n## problem 1", "natural"), [
    { start: 2, index: 2 },
    { start: 18, index: 1 },
  ]);
});

test("extraction never throws and returns n entries, on any text", () => {
  const alphabet = fc.constantFrom(
    ..."0123456789A: \n{}\\boxedAnswer#Problem$".split(""),
    "\\boxed{",
    "Answer 1:",
    "### Problem 2\n",
    "1:",
  );
  const text = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(alphabet, { maxLength: 60 }).map((a) => a.join("")),
  );
  fc.assert(
    fc.property(
      text,
      fc.integer({ min: 0, max: 16 }),
      fc.boolean(),
      fc.constantFrom("compact", "natural"),
      (t, n, truncated, template) => {
        const out = extractAnswers(t, n, { template: template as "compact" | "natural", truncated });
        assert.equal(out.length, n);
        for (const a of out) assert.ok(a === null || typeof a === "string");
      },
    ),
    { numRuns: 2000 },
  );
});

test("no template given: the paper's format is detected (`Answer 1: \\boxed{12}` gives 12, not null)", () => {
  assert.deepEqual(extractAnswers("Answer 1: \\boxed{12}", 1), ["12"]);
  assert.deepEqual(
    extractAnswers("### Problem 1\nso 5.\nAnswer 1: \\boxed{5}\n\n### Problem 2\nAnswer 2: \\boxed{7}", 2),
    ["5", "7"],
  );
  assert.deepEqual(extractAnswers("1:3+4=7 A7 2:A9", 2), ["7", "9"], "compact text stays compact");
  // A given template is used as given: read as compact, `Answer` is `A` + "nswer" (what the old default returned).
  assert.deepEqual(extractAnswers("Answer 1: \\boxed{12}", 1, { template: "compact" }), ["nswer"]);
});

test("detectTemplate says which template it chose and why; onTemplate hears it", () => {
  assert.deepEqual(detectTemplate("1:3+4=7 A7"), {
    template: "compact",
    reason: "no `Answer k:`, \\boxed{} or `### Problem k` in the text",
  });
  assert.equal(detectTemplate("the result is \\boxed{4}").template, "natural");
  assert.match(detectTemplate("answer 2: 18 dollars").reason, /Answer k:/);
  const heard: string[] = [];
  extractAnswers("Answer 1: \\boxed{12}", 1, { onTemplate: (t, why) => heard.push(`${t}: ${why}`) });
  extractAnswers("1:A3", 1, { template: "compact", onTemplate: (t) => heard.push(t) });
  assert.deepEqual(heard, ["natural: the text has an `Answer k:` line"], "called only when the template was detected");
});

test("responses the synthetic model writes are always detected as compact", () => {
  const rng = new Rng(3);
  for (const p of generateProblems(11, 200, [1, 2, 3, 4, 5, 8], "d")) {
    for (const style of TRACE_STYLES) {
      const text = `1:${trace(p.question, p.answer, style, rng)} 2:A${p.answer}`;
      assert.equal(detectTemplate(text).template, "compact", text);
    }
  }
});

/** Every ordering of xs (n! of them). */
function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

test("issue 28.2: extraction keeps no state between calls; every order of packed and single responses scores each as alone", () => {
  // The packed response's last answer line has prose before its box (a shared global box regex
  // was left with lastIndex about 30 there); the single responses' bare boxes lie before that.
  const items: { name: string; text: string; golds: string[]; template: TemplateName; answers: (string | null)[] }[] = [
    {
      name: "packed natural, prose before the last box",
      text: "Answer 1: so the total is \\boxed{18}\nAnswer 2: \\boxed{3}\nAnswer 3: the answer is clearly \\boxed{70000}",
      golds: ["18", "3", "70000"],
      template: "natural",
      answers: ["18", "3", "70000"],
    },
    { name: "single, bare box at 0", text: "\\boxed{18}", golds: ["18"], template: "natural", answers: ["18"] },
    {
      name: "single, short prose then a bare box",
      text: "So she makes \\boxed{18}.",
      golds: ["18"],
      template: "natural",
      answers: ["18"],
    },
    { name: "packed compact", text: "1:3+4=7 A7 2:A5", golds: ["7", "5"], template: "compact", answers: ["7", "5"] },
    {
      name: "single with its Answer line",
      text: "Answer 1: 9 * 2 = 18, so \\boxed{18}",
      golds: ["18"],
      template: "natural",
      answers: ["18"],
    },
    {
      name: "packed natural, last answer without a box",
      text: "Answer 1: \\boxed{4}\nAnswer 2: 6 dollars.",
      golds: ["4", "6"],
      template: "natural",
      answers: ["4", "6 dollars"],
    },
  ];
  // alone: the expected answers, and the full score each gets on its own
  const alone = items.map((it) => {
    assert.deepEqual(extractAnswers(it.text, it.golds.length), it.answers, it.name);
    const s = scoreResponse(it.text, it.golds, { template: it.template });
    assert.equal(s.accuracy, 1, it.name); // every item is right when scored alone
    return s;
  });
  let orders = 0;
  for (const order of permutations(items.map((_, i) => i))) {
    for (const i of order) {
      const it = items[i]!;
      const where = `${it.name}, in order ${order.join(",")}`;
      assert.deepEqual(extractAnswers(it.text, it.golds.length), it.answers, where);
      assert.deepEqual(extractAnswers(it.text, it.golds.length, { template: it.template }), it.answers, where);
      assert.deepEqual(scoreResponse(it.text, it.golds, { template: it.template }), alone[i], where);
    }
    orders++;
  }
  assert.equal(orders, 720);
});
