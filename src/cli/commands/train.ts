import * as path from "node:path";
import { initBackend } from "../../engine/backend.js";
import { RlConfigSchema, type RlConfig } from "../../rl/config.js";
import { trainRl } from "../../rl/grpo.js";
import { ConfigError, formatSchemaHelp, resolveConfig } from "../../util/config.js";
import { stopOnSignals } from "../../run/interrupt.js";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";

const usage = [
  "usage: bcr train --config FILE [--out DIR] [--set key=value]... [--backend NAME] [--max-steps N]",
  "",
  "GRPO from an SFT checkpoint. kind picks the run: single (1 problem, accuracy reward),",
  "bcr (N problems in one context, one shared budget, mean accuracy), penalty (1 problem,",
  "a length shaping from src/rewards). Resumes from DIR/checkpoints/latest when there is one.",
  "",
  "  --config FILE   JSON config (fields below; unknown fields are errors)",
  "  --out DIR       run folder (default runs/<method>-s<seed>)",
  "  --set K=V       override one field, e.g. --set sampling.budget=96 --set steps=50 (repeatable)",
  "  --backend NAME  auto | tensorflow | wasm | cpu (default BCR_BACKEND or auto)",
  "  --max-steps N   stop after N steps in this invocation (saves a checkpoint; run again to resume)",
  "",
  "config fields (default in =):",
  formatSchemaHelp(RlConfigSchema),
].join("\n");

export const command: Command = {
  name: "train",
  summary: "RL (GRPO) with BCR, the single-problem baseline or a length-penalty baseline",
  usage,
  async run(argv) {
    const values = parseFlags(argv, {
      config: { type: "string" },
      out: { type: "string" },
      set: { type: "string", multiple: true },
      backend: { type: "string" },
      "max-steps": { type: "string" },
    });
    const maxSteps = intFlag(values["max-steps"], "max-steps");
    let config: RlConfig;
    try {
      config = resolveConfig(values.config, RlConfigSchema, values.set ?? []);
    } catch (e) {
      if (e instanceof ConfigError && /^(--set|defaults)/.test(e.message)) throw new UsageError(e.message);
      throw e;
    }
    const info = await initBackend(values.backend);
    const outDir = path.resolve(values.out ?? path.join("runs", `${config.method}-s${config.seed}`));
    console.error(`bcr train: ${config.kind} run '${config.method}', backend ${info.name}, run folder ${outDir}`);
    const stop = stopOnSignals("bcr train");
    try {
      const r = await trainRl(config, outDir, {
        signal: stop.signal,
        ...(maxSteps !== undefined ? { maxStepsThisRun: maxSteps } : {}),
      });
      const ev = r.finalEval;
      console.error(
        `bcr train: ${r.finished ? "done" : "stopped"} at step ${r.step}/${config.steps}` +
          (ev
            ? `; eval accuracy ${ev.accuracy.toFixed(3)}, tokens/problem ${ev.tokensPerProblem.toFixed(1)}, loops/response ${ev.loopsPerResponse.toFixed(2)}`
            : "") +
          `; run folder ${outDir}`,
      );
      // Stopped by SIGINT/SIGTERM (not --max-steps): the run is not finished, say so in the status.
      if (!r.finished && stop.signal.aborted) {
        console.error(`bcr train: ${stop.received()}: stopped; run the same command again to resume`);
        return stop.exitCode()!;
      }
      return 0;
    } finally {
      stop.release();
    }
  },
};
