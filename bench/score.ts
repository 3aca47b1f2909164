// Throughput of scoreResponse (responses/s) on realistic responses: synthetic compact responses
// with N = 8 problems (redundant traces) and natural-template responses with N = 4.
// Run: npx tsx bench/score.ts
import { packProblems, scoreResponse } from "../src/bcr/index.js";
import { buildSftExamples, generateProblems } from "../src/tasks/index.js";

function bench(name: string, responses: string[], golds: string[][], template: "compact" | "natural"): void {
  for (let i = 0; i < 200; i++) scoreResponse(responses[i % responses.length]!, golds[i % golds.length]!, { template });
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    for (let i = 0; i < responses.length; i++) scoreResponse(responses[i]!, golds[i]!, { template });
    n += responses.length;
  }
  const s = (performance.now() - t0) / 1000;
  const chars = responses.reduce((a, r) => a + r.length, 0) / responses.length;
  console.log(
    `${name}: ${Math.round(n / s).toLocaleString("en-US")} responses/s (mean ${Math.round(chars)} chars per response)`,
  );
}

const problems = generateProblems(1, 2000, [1, 2, 3, 4]);
const byId = new Map(problems.map((p) => [p.id, p.answer]));
const ex = buildSftExamples(problems, {
  count: 1000,
  groupSizes: [8],
  seed: 3,
  mix: { essential: 0.3, redundant: 0.7, shortcut: 0 },
});
bench(
  "compact N=8",
  ex.map((e) => e.response),
  ex.map((e) => e.ids.map((id) => byId.get(id)!)),
  "compact",
);

const nat: string[] = [];
const natGolds: string[][] = [];
for (let g = 0; g < 250; g++) {
  const group = problems.slice(g * 4, g * 4 + 4);
  natGolds.push(packProblems(group, { template: "natural" }).golds);
  nat.push(
    group
      .map(
        (p, k) =>
          `### Problem ${k + 1}\nWe compute ${p.question} step by step. ` +
          "Let me double-check each step carefully before answering. ".repeat(8) +
          `So the result is ${p.answer}.\nAnswer ${k + 1}: \\boxed{\\frac{${Number(p.answer) * 2}}{2}}`,
      )
      .join("\n\n"),
  );
}
bench("natural N=4", nat, natGolds, "natural");
