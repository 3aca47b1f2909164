// How much of an SFT batch is padding: for each study experiment, `--batches` batches (default
// 500) drawn as `bcr profile` and the bench draw them (src/profile/shapes.ts: the experiment's
// SFT examples, trainSft's length-bucketed BatchSampler), the share of token slots that hold real
// tokens when each batch is padded to its longest example, and when each of `--shards` shards
// (default 2, the study's data-parallel workers) is padded to its own.
//   npx tsx scripts/sft-padding.ts [--batches N] [--shards K] [configs/study/A.json ...]
import { shapesOf } from "../src/profile/shapes.js";
import { loadExperiment, sftSeedConfig } from "../src/study/config.js";
import { shardBounds } from "../src/train/data-parallel.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args.splice(i, 2)[1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
};
const batches = opt("--batches", 500);
const shards = opt("--shards", 2);
const files = args.length ? args : ["configs/study/A.json", "configs/study/B.json", "configs/study/C.json"];
for (const file of files) {
  const exp = loadExperiment(file);
  const config = sftSeedConfig(exp, exp.spec.sftSeeds[0]!, "runs/study");
  const { batches: drawn } = shapesOf(config, file, { steps: batches });
  let real = 0;
  let padded = 0;
  let shardPadded = 0;
  for (const b of drawn) {
    const lens = b.map((e) => e.ids.length);
    real += lens.reduce((a, x) => a + x, 0);
    padded += Math.max(...lens) * lens.length;
    for (const [s, e] of shardBounds(lens.length, shards)) shardPadded += Math.max(...lens.slice(s, e)) * (e - s);
  }
  const pct = (x: number) => `${((100 * real) / x).toFixed(1)}%`;
  console.log(
    `${exp.spec.id}: ${drawn.length} batches of ${drawn[0]!.length}: real tokens ${pct(padded)} of the slots padded per batch, ${pct(shardPadded)} padded per shard (${shards} shards)`,
  );
}
