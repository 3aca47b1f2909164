/**
 * One RL run in a worker process: the library entry point rl-pool.ts starts, so a run trains
 * on its own core (the wasm backend computes on one thread) without going through the CLI.
 *
 *   node [--import tsx] src/reproduce/rl-worker.ts <run folder> '<RlConfig as JSON>'
 *
 * It validates the config with RlConfigSchema, trains with trainRl (resuming from the folder's
 * checkpoint), and speaks on stdout in JSON lines, one per event:
 *   {"type":"step","record":{...}}     every metrics record as trainRl logs it
 *   {"type":"result","result":{...}}   once, when trainRl returns
 * Anything else (log lines, the progress bar) goes to stderr. SIGINT, SIGTERM or the parent
 * going away (stdin closes) stop the run after its current step, with a checkpoint.
 */
import { fileURLToPath } from "node:url";
import { RlConfigSchema } from "../rl/config.js";
import { trainRl } from "../rl/grpo.js";
import { stopOnSignals } from "../run/interrupt.js";
import { parseConfig } from "../util/config.js";

export type WorkerMessage =
  | { type: "step"; record: Record<string, number> }
  | { type: "result"; result: { step: number; finished: boolean; finalAccuracy: number | null } };

/** Train the run and report each event through `send` (the worker's stdout; a test's array). */
export async function runRlWorker(
  outDir: string,
  configJson: string,
  send: (m: WorkerMessage) => void,
  signal?: AbortSignal,
): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(configJson);
  } catch (e) {
    throw new Error(`rl-worker: the config argument is not JSON: ${(e as Error).message}`);
  }
  const config = parseConfig(raw, RlConfigSchema, `rl-worker config for ${outDir}`);
  const r = await trainRl(config, outDir, {
    progress: false,
    onMetrics: (record) => send({ type: "step", record }),
    ...(signal ? { signal } : {}),
  });
  send({
    type: "result",
    result: { step: r.step, finished: r.finished, finalAccuracy: r.finalEval?.accuracy ?? null },
  });
}

async function main(argv: string[]): Promise<number> {
  const [outDir, configJson] = argv;
  if (!outDir || !configJson || argv.length !== 2) {
    console.error("usage: rl-worker.ts <run folder> '<RlConfig as JSON>'");
    return 2;
  }
  const stop = stopOnSignals(`rl-worker ${outDir}`);
  // The parent holds our stdin open; when it ends, the parent is gone: stop rather than run on alone.
  const ctl = new AbortController();
  stop.signal.addEventListener("abort", () => ctl.abort());
  process.stdin.on("end", () => ctl.abort()).resume();
  try {
    await runRlWorker(outDir, configJson, (m) => process.stdout.write(JSON.stringify(m) + "\n"), ctl.signal);
    return 0;
  } catch (e) {
    console.error(`rl-worker: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    stop.release();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = await main(process.argv.slice(2));
  // stdin keeps the event loop alive; leave once stdout has drained.
  process.stdout.write("", () => process.exit(code));
}
