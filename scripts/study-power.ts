/**
 * Power before margin (issue 29, rigor.md): the half-width of the bcr - single difference at N=1
 * that the regime study's design will give, predicted from committed per-sample eval rows
 * (src/analysis/design.ts), for accuracy and for tokens per problem (as a share of single's mean).
 *
 *   npx tsx scripts/study-power.ts [docs/history/ladder/eval-rows.jsonl.gz] [--sft-sd-points 5.5]
 *
 * The rows of one run hold one SFT model, so the SFT component of the difference cannot be
 * estimated from them: it is assumed, from the spread of bcr - single across the SFT models that
 * earlier runs drew (`--sft-sd-points`, the standard deviation of that difference across SFT
 * draws, in accuracy points; docs/results.md says where the default comes from). Prints one line
 * per design and measure.
 */
import { readEvalArchive } from "../src/reproduce/archive.js";
import { designHalfWidth, type Design } from "../src/analysis/design.js";
import type { LongRow } from "../src/analysis/nested.js";

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got ${args[i + 1]}`);
  args.splice(i, 2);
  return v;
};
const sftSdPoints = flag("--sft-sd-points", 5.5);
const sftSdTokensShare = flag("--sft-sd-tokens", 0.1);
const file = args[0] ?? "docs/history/ladder/eval-rows.jsonl.gz";
const { evals } = readEvalArchive(file);

function rowsOf(method: string, value: (r: { correct: boolean; tokens: number }) => number): LongRow[] {
  return evals
    .filter((e) => e.method === method)
    .flatMap((e) =>
      e.n1.map((r) => ({
        sft_seed: 0,
        rl_seed: e.seed ?? 0,
        problem: r.problemId,
        sample: r.sample ?? 0,
        value: value(r),
      })),
    );
}

const designs: Design[] = [
  { sftSeeds: 3, rlSeeds: 2, problems: 512, samples: 4 },
  { sftSeeds: 3, rlSeeds: 3, problems: 512, samples: 4 },
  { sftSeeds: 5, rlSeeds: 2, problems: 512, samples: 4 },
  { sftSeeds: 6, rlSeeds: 2, problems: 512, samples: 4 },
  { sftSeeds: 8, rlSeeds: 2, problems: 512, samples: 4 },
];
const acc = (r: { correct: boolean }) => Number(r.correct);
const tok = (r: { tokens: number }) => r.tokens;
const single = rowsOf("single", tok);
const singleTokens = single.reduce((s, r) => s + r.value, 0) / single.length;
console.log(`rows: ${file}; single's mean tokens/problem ${singleTokens.toFixed(1)}`);
console.log(
  `assumed SFT-level sd of the difference: ${sftSdPoints} accuracy points, ${(100 * sftSdTokensShare).toFixed(0)}% of single's tokens`,
);
for (const d of designs) {
  const a = designHalfWidth(rowsOf("bcr", acc), rowsOf("single", acc), d, {
    assumedSftVariance: (sftSdPoints / 100) ** 2,
  });
  const t = designHalfWidth(rowsOf("bcr", tok), single, d, {
    assumedSftVariance: (sftSdTokensShare * singleTokens) ** 2,
  });
  console.log(
    `${d.sftSeeds} SFT x ${d.rlSeeds} RL x ${d.problems} problems x ${d.samples} samples: ` +
      `accuracy half-width ${(100 * a.halfWidth).toFixed(1)} points (SFT share ${(100 * a.shares.sft).toFixed(0)}%, RL ${(100 * a.shares.rl).toFixed(0)}%); ` +
      `token reduction half-width ${((100 * t.halfWidth) / singleTokens).toFixed(1)}% of single's tokens`,
  );
}
