/**
 * Where `bcr reproduce` keeps things. The runs folder (large, resumable work):
 *   data/{train,test}.jsonl, manifest.json   synthetic problems (src/tasks)          data.ts
 *   data/sft.jsonl, data/stats.json          SFT examples; trace-length statistics   data.ts
 *   data/sft-extend.jsonl                    second-phase SFT examples (sft.extend)  data.ts
 *   sft/                                     the SFT model RL starts from            sft.ts
 *   sft-base/                                with sft.extend: the first phase         sft.ts
 *   rl/<method>/seed-<k>/                    one RL run folder per method and seed   rl.ts
 *   eval/<method>/[seed-<k>/]{n1,sweep}/     sweepN caches; eval.json per model      eval.ts
 *   analysis.json                            the analysis stage's output             analysis.ts
 *   .reproduce/<stage>.json                  stage markers                            stages.ts
 * and the output folder (the config's out, docs/history/ladder/ for the default run: claims,
 * summary, report, tables, figures; report.ts).
 */
import * as path from "node:path";

export type Log = (line: string) => void;

export interface Layout {
  runs: string;
  out: string;
  data: string;
  sft: string;
  sftBase: string;
  rl: string;
  eval: string;
  analysis: string;
}

export function layout(runs: string, out: string): Layout {
  return {
    runs,
    out,
    data: path.join(runs, "data"),
    sft: path.join(runs, "sft"),
    sftBase: path.join(runs, "sft-base"),
    rl: path.join(runs, "rl"),
    eval: path.join(runs, "eval"),
    analysis: path.join(runs, "analysis.json"),
  };
}
