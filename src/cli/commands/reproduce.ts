import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { ReproduceConfigSchema, type ReproduceConfig } from "../../reproduce/config.js";
import { reproduce, STAGES } from "../../reproduce/pipeline.js";
import { RunStopped, stopOnSignals } from "../../run/interrupt.js";
import { isSmokeTest, SMOKE_BANNER } from "../../run/smoke.js";
import { ConfigError, describeSchema, resolveConfig } from "../../util/config.js";
import { parseFlags, UsageError, type Command } from "../command.js";

const usage = [
  "usage: bcr reproduce [--quick] [--config FILE] [--out DIR] [--runs DIR] [--force] [--only STAGE,...] [--set key=value]... [--backend NAME]",
  "",
  "The whole experiment: synthetic data, SFT, the RL runs (single, bcr, length penalties x seeds),",
  "N=1 evals and N-sweeps, fits and bootstrap CIs, then the config's out folder (claims.json, summary.json,",
  "tables/, figures/, report.html with the verdict on each of the paper's four claims). The default config",
  "regenerates the ladder run kept in docs/history/ladder/ and its demo SFT model in results/models/sft.",
  `Stages: ${STAGES.join(" -> ")}. A stage done with the same config is skipped; an interrupted one resumes.`,
  "",
  "  --quick          the tiny CI version (configs/reproduce-quick.json)",
  "  --config FILE    JSON config (default configs/reproduce.json; fields below)",
  "  --out DIR        results folder (default: the config's out)",
  "  --runs DIR       data, runs and caches (default: the config's runs)",
  "  --force          redo the selected stages even when done",
  "  --only S,...     run only these stages; earlier ones must be done already, later ones are not run",
  "                   (--only analysis,report with no eval stage in the runs folder, e.g. a clean clone,",
  "                   re-judges every claim from <out>/eval-rows.jsonl.gz: no training, no evaluation)",
  "  --set K=V        override one field, e.g. --set rl.steps=50 (repeatable)",
  "  --backend NAME   auto | tensorflow | wasm | cpu (default BCR_BACKEND or auto)",
  "  --quiet          no progress bars (stage lines only)",
  "  --print-config   print the resolved config (extends chain, --set and defaults applied) as JSON and exit",
  "",
  "config fields (default in =: the schema's defaults, which configs/reproduce-essential.json spells out; the",
  "default run, configs/reproduce.json, extends them with the ladder settings. The sft.run.* defaults listed",
  "are bcr sft's own: without an sft.run section the values of configs/reproduce-essential.json apply):",
  fieldHelp(),
].join("\n");

/** The config fields, one a line; long defaults (the method list, the SFT run) are shortened. */
function fieldHelp(): string {
  const docs = describeSchema(ReproduceConfigSchema);
  const left = docs.map((d) => {
    const def =
      d.default === undefined
        ? ""
        : d.default.length > 40
          ? " = (see configs/reproduce-essential.json)"
          : ` = ${d.default}`;
    return `${d.path} (${d.type.length > 40 ? "object[]" : d.type})${def}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return docs.map((d, i) => `  ${left[i]!.padEnd(width)}  ${d.description}`).join("\n");
}

/** configs/<name> from the working directory, else from the package root. */
function defaultConfig(name: string): string {
  const local = path.join("configs", name);
  if (fs.existsSync(local)) return local;
  return path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "configs", name);
}

export const command: Command = {
  name: "reproduce",
  summary: "run the whole experiment (data, SFT, RL, evals, analysis) and write its report with the claims",
  usage,
  async run(argv) {
    const values = parseFlags(argv, {
      quick: { type: "boolean" },
      config: { type: "string" },
      out: { type: "string" },
      runs: { type: "string" },
      force: { type: "boolean" },
      only: { type: "string" },
      set: { type: "string", multiple: true },
      backend: { type: "string" },
      quiet: { type: "boolean" },
      "print-config": { type: "boolean" },
    });
    if (values.quick && values.config)
      throw new UsageError(
        "--quick and --config exclude each other (--quick is --config configs/reproduce-quick.json)",
      );
    const file = values.config ?? defaultConfig(values.quick ? "reproduce-quick.json" : "reproduce.json");
    let config: ReproduceConfig;
    try {
      config = resolveConfig(file, ReproduceConfigSchema, values.set ?? []);
    } catch (e) {
      if (e instanceof ConfigError && /^--set /.test(e.message)) throw new UsageError(e.message);
      throw e;
    }
    if (values["print-config"]) {
      console.log(JSON.stringify(config, null, 2));
      return 0;
    }
    const only = values.only
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (only) {
      const bad = only.filter((s) => !(STAGES as readonly string[]).includes(s));
      if (bad.length) throw new UsageError(`--only: unknown stage ${bad.join(", ")} (stages: ${STAGES.join(", ")})`);
    }
    // SIGINT/SIGTERM: the running SFT or RL run saves a checkpoint at its step, the eval stage
    // stops before its next group (sweepN's caches keep the finished ones), and the stage stays
    // unfinished, so the same command resumes it (RL worker processes do the same, rl-pool.ts).
    // Exit status: 130 for SIGINT, 143 for SIGTERM (interrupt.ts).
    const stop = stopOnSignals("bcr reproduce");
    let r: Awaited<ReturnType<typeof reproduce>>;
    try {
      r = await reproduce(config, {
        ...(values.out ? { out: values.out } : {}),
        ...(values.runs ? { runs: values.runs } : {}),
        force: values.force ?? false,
        ...(only ? { only } : {}),
        ...(values.backend ? { backend: values.backend } : {}),
        progress: !values.quiet,
        signal: stop.signal,
      });
    } catch (e) {
      // Once a signal asked to stop, whatever the stage stopped with (RunStopped, or an aborted
      // request) is that stop.
      if (!(e instanceof RunStopped) && !stop.signal.aborted) throw e;
      console.error(`bcr reproduce: ${(e as Error).message}`);
      return stop.exitCode() ?? 130;
    } finally {
      stop.release();
    }
    const verdicts = r.analysis ? r.analysis.claims.map((c) => `claim ${c.number} ${c.verdict}`).join(", ") + "; " : "";
    const smoke = isSmokeTest(config) ? ` (${SMOKE_BANNER})` : "";
    console.log(
      `bcr reproduce${smoke}: ${verdicts}${Object.keys(r.stages).join(", ")} done; ${r.analysis ? path.join(r.out, "report.html") : r.runs} (${r.wall_s.toFixed(1)} s)`,
    );
    return 0;
  },
};
