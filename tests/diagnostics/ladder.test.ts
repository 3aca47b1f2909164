import { test } from "node:test";
import assert from "node:assert/strict";
import { packProblems } from "../../src/bcr/templates.js";
import type { Problem } from "../../src/bcr/types.js";
import type { CompletionModel, CompletionRequest } from "../../src/model/completion.js";
import { ladderTable } from "../../src/diagnostics/ladder.js";
import { generateProblems } from "../../src/tasks/synthetic.js";
import { trace } from "../../src/tasks/traces.js";
import { Rng } from "../../src/util/rng.js";

/**
 * A stand-in model that continues whatever form its response was forced into: the essential
 * trace right, the terse trace with the last value off by one on every 4th problem, a guess
 * right on every 3rd problem; left alone it writes bare values.
 */
function stub(problems: Problem[]): { model: CompletionModel; requests: CompletionRequest[] } {
  const byPrompt = new Map(problems.map((p, i) => [packProblems([p]).text, { p, i }]));
  const requests: CompletionRequest[] = [];
  const model: CompletionModel = {
    name: "stub",
    complete: async (reqs) =>
      reqs.map((r) => {
        requests.push(r);
        const head = [...byPrompt.keys()].find((k) => r.prompt.startsWith(k))!;
        const { p, i } = byPrompt.get(head)!;
        const forced = r.prompt.slice(head.length);
        const rng = new Rng(0);
        let full: string;
        if (forced.startsWith("1:a=")) {
          const t = trace(p.question, p.answer, "terse", rng);
          full = `1:${i % 4 === 0 ? t.replace(/=(\d+) A\S+$/, (_, v: string) => `=${Number(v) + 1} A${Number(v) + 1}`) : t}`;
        } else if (forced === "1:A") full = `1:A${i % 3 === 0 ? p.answer : "999"}`;
        else if (forced.startsWith("1:a")) full = `1:${trace(p.question, p.answer, "essential", rng)}`;
        else full = `1:${trace(p.question, p.answer, "bare", rng)}`;
        const text = full.slice(forced.length);
        return { text, completionTokens: text.length, finishReason: "stop" as const, tokensEstimated: false };
      }),
  };
  return { model, requests };
}

test("ladderTable: forced forms, the free row and the chosen styles, each scored and counted with the forced prefix", async () => {
  const problems = generateProblems(3, 12, [5, 6]);
  const { model, requests } = stub(problems);
  const rows = await ladderTable(model, problems, { budget: 160 });
  const row = (how: string, form: string) => rows.find((r) => r.how === how && r.form === form)!;
  const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const essentialTokens = m(problems.map((p) => `1:${trace(p.question, p.answer, "essential", new Rng(0))}`.length));
  assert.equal(row("forced", "essential").accuracy, 1);
  assert.ok(
    Math.abs(row("forced", "essential").tokensPerProblem - essentialTokens) < 1e-9,
    "the forced prefix counts as response tokens",
  );
  assert.equal(row("forced", "essential").stepsRight, 1);
  assert.equal(row("forced", "terse").accuracy, 9 / 12);
  assert.ok(row("forced", "terse").stepsRight < 1 && row("forced", "terse").stepsRight > 0.8);
  assert.equal(row("forced", "shortcut").accuracy, 4 / 12);
  assert.ok(Number.isNaN(row("forced", "shortcut").stepsRight), "no steps");
  assert.equal(row("free", "any").accuracy, 1);
  assert.deepEqual(
    rows.filter((r) => r.how === "chosen").map((r) => [r.form, r.responses]),
    [["bare", 12]],
  );
  // shorter down the ladder
  const tok = ["essential", "terse", "shortcut"].map((f) => row("forced", f).tokensPerProblem);
  assert.ok(tok[0]! > tok[1]! && tok[1]! > tok[2]!, `${tok}`);
  // greedy by default, budget net of the prefix
  assert.ok(requests.every((r) => r.temperature === 0));
  assert.equal(requests.find((r) => r.prompt.endsWith("1:a="))!.maxTokens, 156);
  await assert.rejects(ladderTable(model, [], { budget: 10 }), /no problems/);
});
