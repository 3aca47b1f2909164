import { TEMPLATES } from "../../bcr/index.js";
import type { TemplateName } from "../../bcr/types.js";
import { makeShaping, SHAPINGS } from "../../rewards/index.js";
import { DEFAULT_MAX_BODY_BYTES, startRewardServer } from "../../serve/reward-server.js";
import { TOKEN_COUNTERS, type TokenCounterName } from "../../bcr/tokens.js";
import { parseFlags, UsageError, type Command } from "../command.js";

const usage = `usage: bcr serve-reward [options]

Serves BCR rewards over HTTP in OpenRLHF's remote reward-model protocol:
POST /get_reward (or /) {"query", "prompts", "labels"} -> {"rewards", "scores", "extra_logs", "details"};
GET /health. See docs/distributed.md.

  --host HOST          interface to listen on (default 127.0.0.1; 0.0.0.0 for a cluster)
  --port N             port (default 5000; 0 picks a free one)
  --shaping NAME       reward shaping (default accuracy = the BCR reward): ${SHAPINGS.join(", ")}
  --param K=V          a shaping parameter, repeatable (e.g. --param lambda=0.5)
  --template NAME      prompt/response template: natural (default) or compact
  --max-length N       shared response budget in tokens (default 5120)
  --counter NAME       response token counter: estimate (default, approximate BPE) or chars
  --target-length N    target length for the l1-exact / l1-max shapings
  --total-steps N      training length for schedule-aware shapings (thinkprune)
  --max-body-mb N      request body limit in MiB (default ${DEFAULT_MAX_BODY_BYTES / 2 ** 20}; 413 above)
  --quiet              no per-request log lines
Stops gracefully on SIGINT/SIGTERM (finishes in-flight requests).`;

function positiveInt(flag: string, v: string | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new UsageError(`${flag} must be a ${allowZero ? "non-negative" : "positive"} integer, got '${v}'`);
  return n;
}

export function parseParams(list: string[]): Record<string, number> {
  const params: Record<string, number> = {};
  for (const kv of list) {
    const m = /^([A-Za-z_][\w-]*)=(.+)$/.exec(kv);
    const value = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(value)) throw new UsageError(`--param expects key=number, got '${kv}'`);
    params[m[1]!] = value;
  }
  return params;
}

export const command: Command = {
  name: "serve-reward",
  summary: "serve BCR rewards over HTTP (OpenRLHF remote reward-model protocol)",
  usage,
  async run(argv) {
    const values = parseFlags(argv, {
          host: { type: "string" }, port: { type: "string" }, shaping: { type: "string" },
          param: { type: "string", multiple: true }, template: { type: "string" },
          "max-length": { type: "string" }, counter: { type: "string" },
          "target-length": { type: "string" }, "total-steps": { type: "string" },
          "max-body-mb": { type: "string" }, quiet: { type: "boolean" },
        });
    const template = (values.template ?? "natural") as TemplateName;
    if (!TEMPLATES.includes(template)) throw new UsageError(`--template must be one of ${TEMPLATES.join(", ")}, got '${template}'`);
    const counter = (values.counter ?? "estimate") as TokenCounterName;
    if (!TOKEN_COUNTERS.includes(counter)) throw new UsageError(`--counter must be one of ${TOKEN_COUNTERS.join(", ")}, got '${counter}'`);
    const shapingName = values.shaping ?? "accuracy";
    let shaping;
    try {
      shaping = makeShaping(shapingName, parseParams(values.param ?? []));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
    const maxBodyMb = values["max-body-mb"] === undefined ? undefined : Number(values["max-body-mb"]);
    if (maxBodyMb !== undefined && !(maxBodyMb > 0)) throw new UsageError(`--max-body-mb must be a positive number`);

    const server = await startRewardServer({
      host: values.host ?? "127.0.0.1",
      port: positiveInt("--port", values.port, 5000, true),
      shaping,
      template,
      maxLength: positiveInt("--max-length", values["max-length"], 5120),
      counter,
      ...(values["target-length"] !== undefined ? { targetLength: positiveInt("--target-length", values["target-length"], 0) } : {}),
      ...(values["total-steps"] !== undefined ? { totalSteps: positiveInt("--total-steps", values["total-steps"], 0) } : {}),
      maxBodyBytes: maxBodyMb === undefined ? DEFAULT_MAX_BODY_BYTES : Math.floor(maxBodyMb * 2 ** 20),
      log: values.quiet ? null : (line) => process.stdout.write(line + "\n"),
    });
    const params = Object.entries(shaping.params).map(([k, v]) => `${k}=${v}`).join(" ");
    console.error(`bcr serve-reward: listening on ${server.url} (POST /get_reward, GET /health); ` +
      `shaping ${shaping.name}${params ? ` ${params}` : ""}, template ${template}, counter ${counter}`);

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        console.error(`bcr serve-reward: ${signal}: finishing ${server.stats().inFlight} in-flight request(s), then exiting`);
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
        void server.close().then(resolve);
      };
      const onInt = () => stop("SIGINT");
      const onTerm = () => stop("SIGTERM");
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
    });
    const s = server.stats();
    console.error(`bcr serve-reward: stopped after ${s.requests} requests, ${s.items} items scored`);
    return 0;
  },
};
