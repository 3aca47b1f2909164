import * as path from "node:path";
import { UsageError, type Command } from "../command.js";
import { readRuns, stabilityRows, stabilityTable } from "../../analysis/stability.js";
import { toMarkdown, writeCsv } from "../../analysis/tables.js";
import { writeFileAtomic } from "../../util/fsx.js";
import { gradientFigure, trainingCurvesFigure, type Figure } from "../../viz/figures.js";
import { Renderer, writeFigureHtml } from "../../viz/render.js";

const USAGE = `usage: bcr figures <runs-dir> [--out DIR] [--no-png]
  <runs-dir>   a run folder, or a folder holding run folders (config.json + metrics.jsonl)
  --out DIR    where to write figures and tables (default results/figures, not committed)
  --no-png     write interactive HTML only (no Chromium needed)`;

export const command: Command = {
  name: "figures",
  summary: "training-curve and gradient figures plus the stability table for run folders",
  usage: USAGE,
  async run(argv) {
    let out = "results/figures";
    let png = true;
    const pos: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--out") {
        out = argv[++i] ?? "";
        if (!out) throw new UsageError("--out needs a folder");
      } else if (a === "--no-png") png = false;
      else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
      else pos.push(a);
    }
    if (pos.length !== 1) throw new UsageError("expected exactly one <runs-dir>");
    const runs = readRuns(pos[0]!);
    if (runs.length === 0) throw new Error(`${pos[0]}: no run folders found`);
    const rows = stabilityRows(stabilityTable(runs));
    writeCsv(path.join(out, "stability.csv"), rows);
    writeFileAtomic(path.join(out, "stability.md"), toMarkdown(rows));
    const figs: [string, Figure][] = [
      ["eval_accuracy", trainingCurvesFigure(runs, "eval/accuracy")],
      ["length_tokens_per_problem", trainingCurvesFigure(runs, "length/tokens_per_problem")],
      ["gradients", gradientFigure(runs)],
    ];
    const renderer = png ? new Renderer() : null;
    try {
      for (const [name, fig] of figs) {
        writeFigureHtml(path.join(out, `${name}.html`), fig);
        if (renderer) await renderer.writePng(path.join(out, `${name}.png`), fig);
      }
    } finally {
      await renderer?.close();
    }
    console.log(`${runs.length} runs -> ${out}/ (stability.csv, stability.md, ${figs.map(([n]) => n).join(", ")})`);
    return 0;
  },
};
