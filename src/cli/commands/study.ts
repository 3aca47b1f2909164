import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { RunStopped, stopOnSignals } from "../../run/interrupt.js";
import { loadStudy } from "../../study/config.js";
import { studyCommands } from "../../study/eta.js";
import { PHASES, type Phase, runStudy, STUDY_FILE } from "../../study/runner.js";
import { type Command, parseFlags, UsageError } from "../command.js";

const usage = [
  "usage: bcr study [--quick | --config FILE] [--experiment ID [--phase sft|rl|cont|judge [--sft-seed K,...]]]",
  "                 [--rejudge | --plan [--commands]] [--out DIR] [--runs DIR] [--backend NAME] [--quiet]",
  "",
  "The regime study (issue 29): for each experiment of the study config and each of its SFT seeds,",
  "the reproduce stages data and sft in <runs>/<id>/sft-<k>/, the experiment's gate measured on that",
  "SFT model (independent samples), then, unless the gate failed on a majority of SFT seeds, every",
  "RL seed's runs and their evals; every verdict judged by the pre-registered rules with a three-level",
  "bootstrap (SFT seed, RL seed, problem). Writes <out>/study.json and <out>/study/<id>/ (rows.jsonl.gz,",
  "report.md). Prints the planned work and an ETA before it starts; resumes where a killed run stopped.",
  "On several machines: one --phase item per job, in the order --plan --commands prints (docs/cluster.md).",
  "",
  "  --quick          a tiny smoke-test study (configs/study/quick.json): its numbers mean nothing",
  "  --config FILE    study config (default configs/study/study.json)",
  "  --experiment ID  run (or re-judge) one experiment; study.json keeps the others' entries",
  "  --rejudge        re-judge every verdict from <out>/study/<id>/rows.jsonl.gz: no training, no evaluation",
  "                   (an experiment without rows is named as not run yet and left out); with the replicates under",
  "                   other kernel sets that the config's arithmeticReplicates lists, a verdict they disagree on is not decided",
  "  --out DIR        results folder (default: the study config's out)",
  "  --runs DIR       runs folder (default: the study config's runs)",
  "  --plan           print the planned work and its ETA, run nothing",
  "  --commands       with --plan: print every work item as a `bcr study --phase` command, in dependency order",
  "  --phase PHASE    run one phase of --experiment's work, as one job of a cluster (docs/cluster.md):",
  "                   sft (data, SFT, gate), rl (RL, eval; needs every SFT seed's gate), cont (the continuation),",
  "                   judge (no training: rows, report, study.json, as the full run writes them; needs every item)",
  "  --sft-seed K     the SFT seeds of phase sft or rl (repeat or comma-separate; default all of the experiment's)",
  "  --costs FILE     committed run whose stage times give the ETA's unit costs (default docs/history/ladder/summary.json)",
  "  --backend NAME   auto | tensorflow | wasm | cpu (default BCR_BACKEND or auto)",
  "  --quiet          no progress bars",
].join("\n");

/** `w` as one shell word (quoted when it holds anything but plain path characters). */
const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`);

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
      phase: { type: "string" },
      "sft-seed": { type: "string", multiple: true },
      commands: { type: "boolean" },
    });
    if (v.quick && v.config) throw new Error("--quick and --config exclude each other");
    if (v.commands && !v.plan) throw new UsageError("--commands goes with --plan (it prints the plan as commands)");
    if (v.plan && v.phase) throw new UsageError("--plan and --phase exclude each other");
    if (v.phase !== undefined && !(PHASES as readonly string[]).includes(v.phase))
      throw new UsageError(`--phase must be one of ${PHASES.join(", ")}, got '${v.phase}'`);
    const sftSeeds = (v["sft-seed"] ?? []).flatMap((x) =>
      x.split(",").map((t) => {
        const k = Number(t.trim());
        if (t.trim() === "" || !Number.isInteger(k))
          throw new UsageError(`--sft-seed takes integers (--sft-seed 1 --sft-seed 2, or --sft-seed 1,2), got '${x}'`);
        return k;
      }),
    );
    const study = loadStudy(v.config ?? defaultConfig(v.quick ? "study/quick.json" : "study/study.json"));
    // How the printed commands and the messages call this same study back.
    const command = [
      "npx bcr study",
      ...(v.quick ? ["--quick"] : v.config ? ["--config", shellWord(v.config)] : []),
      ...(v.runs ? ["--runs", shellWord(v.runs)] : []),
      ...(v.out ? ["--out", shellWord(v.out)] : []),
      ...(v.backend ? ["--backend", shellWord(v.backend)] : []),
      ...(v.quiet ? ["--quiet"] : []),
    ].join(" ");
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
        ...(v.phase ? { phase: v.phase as Phase } : {}),
        ...(sftSeeds.length ? { sftSeeds } : {}),
        command,
      });
      if (v.plan) {
        if (v.commands) {
          const exps = study.experiments.filter((e) => !v.experiment || e.spec.id === v.experiment);
          for (const l of studyCommands(exps, command)) console.log(l);
        }
        return 0;
      }
      if (r.phase) {
        const p = r.phase;
        console.log(
          `bcr study: experiment ${v.experiment}, phase ${p.phase}, SFT seed${p.seeds.length > 1 ? "s" : ""} ${p.seeds.join(", ")}: ${
            p.ran ? "done" : `gate failed: no ${p.phase === "rl" ? "RL" : "continuation"}`
          }`,
        );
        return 0;
      }
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
