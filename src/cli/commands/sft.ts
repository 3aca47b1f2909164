import * as path from "node:path";
import { initBackend } from "../../engine/backend.js";
import { checkpointsDir } from "../../run/files.js";
import { SftConfigSchema, type SftConfig } from "../../train/sft-config.js";
import { loadSftData, trainSft } from "../../train/sft.js";
import { ConfigError, formatSchemaHelp, resolveConfig } from "../../util/config.js";
import { stopOnSignals } from "../../run/interrupt.js";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";

const usage = [
  "usage: bcr sft [--config FILE] [--out DIR] [--set key=value]... [--backend NAME] [--fresh] [--max-steps N]",
  "",
  "Supervised fine-tuning on {prompt, response} JSONL (data.train, data.eval): cross-entropy on the",
  "response tokens, AdamW, warm-up + cosine. Resumes from DIR/checkpoints/latest when there is one.",
  "",
  "  --config FILE   JSON config (fields below; unknown fields are errors)",
  "  --out DIR       run folder (default runs/<name>-s<seed>-<time>)",
  "  --set K=V       override one field, e.g. --set optim.lr=3e-4 --set train.steps=100 (repeatable)",
  "  --backend NAME  auto | tensorflow | wasm | cpu (default BCR_BACKEND or auto)",
  "  --fresh         ignore existing checkpoints in DIR and start over",
  "  --max-steps N   stop after N steps in this invocation (saves a checkpoint; run again to resume)",
  "",
  "config fields (default in =):",
  formatSchemaHelp(SftConfigSchema),
].join("\n");

export const command: Command = {
  name: "sft",
  summary: "supervised fine-tuning of the GPT on {prompt, response} JSONL",
  usage,
  async run(argv) {
    const values = parseFlags(argv, {
      config: { type: "string" },
      out: { type: "string" },
      set: { type: "string", multiple: true },
      backend: { type: "string" },
      fresh: { type: "boolean" },
      "max-steps": { type: "string" },
    });
    const maxSteps = intFlag(values["max-steps"], "max-steps");
    let config: SftConfig;
    try {
      config = resolveConfig(values.config, SftConfigSchema, values.set ?? []);
    } catch (e) {
      if (e instanceof ConfigError && /^--set /.test(e.message)) throw new UsageError(e.message);
      throw e;
    }
    const info = await initBackend(values.backend);
    const data = loadSftData(config);
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
    const outDir = path.resolve(values.out ?? path.join("runs", `${config.name}-s${config.seed}-${stamp}`));
    console.error(
      `bcr sft: ${data.train.length} train / ${data.eval?.length ?? 0} eval examples, backend ${info.name}, run folder ${outDir}`,
    );

    const stop = stopOnSignals("bcr sft");
    try {
      const r = await trainSft(config, data, outDir, {
        resume: !values.fresh,
        signal: stop.signal,
        ...(maxSteps !== undefined ? { maxStepsThisRun: maxSteps } : {}),
      });
      const last = r.losses[r.losses.length - 1];
      const ev = r.evalLosses[r.evalLosses.length - 1];
      console.error(
        `bcr sft: ${r.stopped ? "stopped" : "done"} at step ${r.step}/${config.train.steps}` +
          (last ? `, train/loss ${last.loss.toFixed(4)}` : "") +
          (ev ? `, eval/loss ${ev.loss.toFixed(4)}` : "") +
          `; checkpoint in ${checkpointsDir(outDir)}`,
      );
      r.model.dispose();
      // Stopped by SIGINT/SIGTERM (not --max-steps): the run is not finished, say so in the status.
      if (r.stopped && stop.signal.aborted) {
        console.error(`bcr sft: ${stop.received()}: stopped; run the same command again to resume`);
        return stop.exitCode()!;
      }
      return 0;
    } finally {
      stop.release();
    }
  },
};
