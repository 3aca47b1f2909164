import * as os from "node:os";
import * as path from "node:path";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";
import { DEFAULT_PROFILE_CONFIG, formatProfile, runProfile } from "../../profile/profile.js";
import { writeJsonAtomic } from "../../util/fsx.js";

const usage = `usage: bcr profile [--config FILE] [--steps N] [--workers N] [--init DIR] [--json FILE] [--quick]

Where the time goes in one SFT step (1 worker, then data-parallel), one RL step (its rollout and
its update apart) and one eval batch: wall ms, kernel ms by kernel name, time outside kernels,
the FLOPs counted from the shapes, GFLOP/s and its share of the sgemm peak on one thread and on
every core (the machine peak), both measured in the same run; each row's MFU is marked *. The
1-minute load average at the start is printed; above 0.5 the run is unsettled.

  --config FILE   an experiment file (its base, as its first SFT seed runs it) or a reproduce
                  config (default ${DEFAULT_PROFILE_CONFIG})
  --steps N       profiled runs of each phase after one untimed run; figures are means (default 1)
  --workers N     data-parallel workers of the second SFT row (default min(2, cores); 1: none)
  --init DIR      a trained checkpoint or run folder instead of the config's model at random init
                  (a random model seldom stops early: rollouts and eval run to the full budget)
  --json FILE     also write the table as JSON
  --quick         a smoke check of every path: a tiny model, small batches, 8 new tokens`;

export const command: Command = {
  name: "profile",
  summary: "where the time goes: one SFT step, one RL step (rollout, update), one eval batch, by kernel",
  usage,
  async run(argv) {
    const v = parseFlags(argv, {
      config: { type: "string" },
      steps: { type: "string" },
      workers: { type: "string" },
      init: { type: "string" },
      json: { type: "string" },
      quick: { type: "boolean" },
    });
    if (v.json === "") throw new UsageError("--json needs a file name");
    const result = await runProfile({
      config: path.resolve(v.config ?? DEFAULT_PROFILE_CONFIG),
      steps: intFlag(v.steps, "steps") ?? 1,
      workers: intFlag(v.workers, "workers") ?? Math.max(1, Math.min(2, os.availableParallelism())),
      quick: v.quick ?? false,
      ...(v.init ? { init: v.init } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    console.log(formatProfile(result));
    if (v.json) {
      writeJsonAtomic(path.resolve(v.json), result);
      console.log(`wrote ${v.json}`);
    }
    return 0;
  },
};
