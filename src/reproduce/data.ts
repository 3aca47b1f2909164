/**
 * Stage data: the synthetic train/test problems, the SFT examples built from them (one file per
 * SFT phase) and the trace-length statistics the RL budget rule (budget.ts) reads.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Problem } from "../bcr/types.js";
import { buildSftExamples } from "../tasks/sft.js";
import { loadSyntheticDataset, writeSyntheticDataset } from "../tasks/dataset.js";
import { trace } from "../tasks/traces.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/fsx.js";
import { Rng } from "../util/rng.js";
import type { ReproduceConfig } from "./config.js";
import type { Layout } from "./layout.js";

export interface DataStats {
  /** Mean length in tokens (chars) of one problem's trace as written in a packed response. */
  meanEssentialTokens: number;
  meanRedundantTokens: number;
  /** The same for the answer alone (shortcut). */
  meanShortcutTokens: number;
  sftExamples: number;
  sftStyleShares: Record<string, number>;
  /** With sft.extend: the second phase's example count. */
  sftExtendExamples?: number;
}

/** Per-problem length of each trace style, `k:` header and the separator included. */
export function traceLengths(
  problems: readonly Problem[],
  seed: number,
  loops?: [number, number],
): Omit<DataStats, "sftExamples" | "sftStyleShares"> {
  const rng = new Rng(seed);
  const mean = (style: "essential" | "redundant" | "shortcut") =>
    problems.reduce((s, p) => s + `1:${trace(p.question, p.answer, style, rng, { loops })}`.length + 1, 0) /
    problems.length;
  return {
    meanEssentialTokens: mean("essential"),
    meanRedundantTokens: mean("redundant"),
    meanShortcutTokens: mean("shortcut"),
  };
}

export function runData(config: ReproduceConfig, L: Layout): DataStats {
  const d = config.data;
  writeSyntheticDataset(L.data, { seed: d.seed, train: d.train, test: d.test, levels: d.levels });
  const train = loadSyntheticDataset(L.data, "train");
  const s = config.sft;
  // Both SFT phases share the trace mixture; each has its own count, pack sizes and seed.
  const writeExamples = (file: string, p: { examples: number; groupSizes: number[]; seed: number }) => {
    const out = buildSftExamples(train, {
      count: p.examples,
      groupSizes: p.groupSizes,
      seed: p.seed,
      mix: s.mix,
      loops: s.loops,
      merge: s.merge,
    });
    writeFileAtomic(path.join(L.data, file), out.map((e) => JSON.stringify(e)).join("\n") + "\n");
    return out;
  };
  const examples = writeExamples("sft.jsonl", s);
  const extended = s.extend ? writeExamples("sft-extend.jsonl", s.extend) : null;
  const styles = examples.flatMap((e) => e.styles);
  const share = (st: string) => styles.filter((x) => x === st).length / styles.length;
  const stats: DataStats = {
    ...traceLengths(train, d.seed + 17, s.loops),
    sftExamples: examples.length,
    sftStyleShares: {
      essential: share("essential"),
      redundant: share("redundant"),
      shortcut: share("shortcut"),
      ...Object.fromEntries(
        (["merged", "terse", "bare"] as const).filter((st) => s.mix[st] !== undefined).map((st) => [st, share(st)]),
      ),
    },
    ...(extended ? { sftExtendExamples: extended.length } : {}),
  };
  writeJsonAtomic(path.join(L.data, "stats.json"), stats);
  return stats;
}

export function readDataStats(L: Layout): DataStats {
  return JSON.parse(fs.readFileSync(path.join(L.data, "stats.json"), "utf8")) as DataStats;
}
