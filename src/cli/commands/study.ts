import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { RunStopped, stopOnSignals } from "../../run/interrupt.js";
import { loadStudy } from "../../study/config.js";
import { runStudy, STUDY_FILE } from "../../study/runner.js";
import { parseFlags, type Command } from "../command.js";

const usage = [
  "usage: bcr study [--quick | --config FILE] [--experiment ID] [--rejudge | --plan] [--out DIR] [--runs DIR] [--backend NAME] [--quiet]",
  "",
  "The regime study (issue 29): for each experiment of the study config and each of its SFT seeds,",
  "the reproduce stages data and sft in <runs>/<id>/sft-<k>/, the experiment's gate measured on that",
  "SFT model (independent samples), then, unless the gate failed on a majority of SFT seeds, every",
  "RL seed's runs and their evals; every verdict judged by the pre-registered rules with a three-level",
  "bootstrap (SFT seed, RL seed, problem). Writes <out>/study.json and <out>/study/<id>/ (rows.jsonl.gz,",
  "report.md). Prints the planned work and an ETA before it starts; resumes where a killed run stopped.",
  "",
  "  --quick          a tiny smoke-test study (configs/study/quick.json): its numbers mean nothing",
  "  --config FILE    study config (default configs/study/study.json)",
  "  --experiment ID  run (or re-judge) one experiment; study.json keeps the others' entries",
  "  --rejudge        re-judge every verdict from <out>/study/<id>/rows.jsonl.gz: no training, no evaluation",
  "  --out DIR        results folder (default: the study config's out)",
  "  --runs DIR       runs folder (default: the study config's runs)",
  "  --plan          print the planned work and its ETA, run nothing",
  "  --costs FILE     committed run whose stage times give the ETA's unit costs (default results/summary.json)",
  "  --backend NAME   auto | tensorflow | wasm | cpu (default BCR_BACKEND or auto)",
  "  --quiet          no progress bars",
].join("\n");

/** configs/<name> from the working directory, else from the package root. */
function defaultConfig(name: string): string {
  const local = path.join("configs", name);
  if (fs.existsSync(local)) return local;
  return path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "configs", name);
}

export const command: Command = {
  name: "study",
  summary: "run the regime study (experiments x SFT seeds x RL seeds, gates, pre-registered verdicts) or re-judge it",
  usage,
  async run(argv) {
    const v = parseFlags(argv, {
      quick: { type: "boolean" },
      config: { type: "string" },
      experiment: { type: "string" },
      rejudge: { type: "boolean" },
      out: { type: "string" },
      runs: { type: "string" },
      costs: { type: "string" },
      plan: { type: "boolean" },
      backend: { type: "string" },
      quiet: { type: "boolean" },
    });
    if (v.quick && v.config) throw new Error("--quick and --config exclude each other");
    const study = loadStudy(v.config ?? defaultConfig(v.quick ? "study/quick.json" : "study/study.json"));
    const stop = stopOnSignals("bcr study");
    try {
      const r = await runStudy(study, {
        ...(v.experiment ? { experiment: v.experiment } : {}),
        rejudge: v.rejudge ?? false,
        ...(v.out ? { out: v.out } : {}),
        ...(v.runs ? { runs: v.runs } : {}),
        ...(v.costs ? { costsFrom: v.costs } : {}),
        ...(v.backend ? { backend: v.backend } : {}),
        progress: !v.quiet,
        signal: stop.signal,
        planOnly: v.plan ?? false,
      });
      if (v.plan) return 0;
      const out = v.out ?? study.spec.out;
      console.log(
        `bcr study${study.spec.smoke ? " (SMOKE TEST, NOT A RESULT)" : ""}: ${r.output.experiments
          .map(
            (e) => `${e.id} ${e.gate.passed ? e.claims.map((c) => `${c.id} ${c.verdict}`).join(", ") : "gate failed"}`,
          )
          .join("; ")}; ${path.join(out, STUDY_FILE)}`,
      );
      return 0;
    } catch (e) {
      if (!(e instanceof RunStopped) && !stop.signal.aborted) throw e;
      console.error(`bcr study: ${(e as Error).message}`);
      return stop.exitCode() ?? 130;
    } finally {
      stop.release();
    }
  },
};
