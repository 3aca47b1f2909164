// Shared by the study's tests on hand-made rows (judge, report): the rows archive's meta for SFT
// seeds that all passed a recheck_share gate, over `problems` test problems.
import type { RowsMeta } from "../../src/study/rows.js";

export function handMadeMeta(sftSeeds: readonly number[], problems: number, over: Partial<RowsMeta> = {}): RowsMeta {
  return {
    format: 1,
    id: "T",
    budgets: { n1: 160, sweep: 140, bcr: {} },
    gate: sftSeeds.map((sft) => ({
      sft,
      passed: true,
      gates: [{ metric: "recheck_share", measured: 0.6, threshold: 0.5, direction: ">=", passed: true, how: "test" }],
    })),
    gatePassed: true,
    runs: [],
    test: { problems, available: problems },
    continuation: null,
    wall: {},
    ...over,
  };
}
