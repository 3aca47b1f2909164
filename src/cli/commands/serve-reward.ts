import { TEMPLATES } from "../../bcr/index.js";
import type { TemplateName } from "../../bcr/types.js";
import { makeShaping, type RewardShaping, SHAPINGS } from "../../rewards/index.js";
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_ITEMS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  MAX_BODY_BYTES_LIMIT,
  startRewardServer,
} from "../../serve/reward-server.js";
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
  --max-items N        items (query entries) per request (default ${DEFAULT_MAX_ITEMS}; 413 above, naming the cap)
  --score-workers N    worker threads that parse and score (default min(4, cores); 0 = on the event loop)
  --request-timeout-s S   a body not fully received S seconds after its request began gets 408 (default ${DEFAULT_REQUEST_TIMEOUT_MS / 1000})
  --headers-timeout-s S   headers not fully received within S seconds get 408 (default ${DEFAULT_HEADERS_TIMEOUT_MS / 1000})
  --drain-timeout-s S     on SIGINT/SIGTERM, force-close connections still open after S seconds (default ${DEFAULT_DRAIN_TIMEOUT_MS / 1000})
  --quiet              no per-request log lines
On SIGINT/SIGTERM: stops accepting connections, answers every request already received, then exits.`;

function positiveInt(flag: string, v: string | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new UsageError(`${flag} must be a ${allowZero ? "non-negative" : "positive"} integer, got '${v}'`);
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
      host: { type: "string" },
      port: { type: "string" },
      shaping: { type: "string" },
      param: { type: "string", multiple: true },
      template: { type: "string" },
      "max-length": { type: "string" },
      counter: { type: "string" },
      "target-length": { type: "string" },
      "total-steps": { type: "string" },
      "max-body-mb": { type: "string" },
      "max-items": { type: "string" },
      quiet: { type: "boolean" },
      "score-workers": { type: "string" },
      "request-timeout-s": { type: "string" },
      "headers-timeout-s": { type: "string" },
      "drain-timeout-s": { type: "string" },
    });
    const template = (values.template ?? "natural") as TemplateName;
    if (!TEMPLATES.includes(template))
      throw new UsageError(`--template must be one of ${TEMPLATES.join(", ")}, got '${template}'`);
    const counter = (values.counter ?? "estimate") as TokenCounterName;
    if (!TOKEN_COUNTERS.includes(counter))
      throw new UsageError(`--counter must be one of ${TOKEN_COUNTERS.join(", ")}, got '${counter}'`);
    const shapingName = values.shaping ?? "accuracy";
    const shapingParams = parseParams(values.param ?? []);
    let shaping: RewardShaping;
    try {
      shaping = makeShaping(shapingName, shapingParams); // only to check the name and parameters here, as usage errors
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
    const maxBodyMb = values["max-body-mb"] === undefined ? undefined : Number(values["max-body-mb"]);
    if (maxBodyMb !== undefined && !(maxBodyMb > 0 && maxBodyMb * 2 ** 20 <= MAX_BODY_BYTES_LIMIT))
      throw new UsageError(
        `--max-body-mb must be a positive number of MiB up to ${Math.floor(MAX_BODY_BYTES_LIMIT / 2 ** 20)}, got '${values["max-body-mb"]}'`,
      );

    const seconds = (flag: string): number | undefined => {
      const v = values[flag as "drain-timeout-s"];
      if (v === undefined) return undefined;
      const x = Number(v);
      if (!(Number.isFinite(x) && x > 0))
        throw new UsageError(`--${flag} must be a positive number of seconds, got '${v}'`);
      return x * 1000;
    };
    const timeouts = {
      ...(seconds("request-timeout-s") !== undefined ? { requestTimeoutMs: seconds("request-timeout-s")! } : {}),
      ...(seconds("headers-timeout-s") !== undefined ? { headersTimeoutMs: seconds("headers-timeout-s")! } : {}),
      ...(seconds("drain-timeout-s") !== undefined ? { drainTimeoutMs: seconds("drain-timeout-s")! } : {}),
    };
    const server = await startRewardServer({
      ...timeouts,
      ...(values["score-workers"] !== undefined
        ? { scoreWorkers: positiveInt("--score-workers", values["score-workers"], 0, true) }
        : {}),
      host: values.host ?? "127.0.0.1",
      port: positiveInt("--port", values.port, 5000, true),
      // By name, not the object: the server can only hand a named shaping to its scoring
      // workers (a shaping object scores on the event loop, where a large request stalls /health).
      shaping: shapingName,
      params: shapingParams,
      template,
      maxLength: positiveInt("--max-length", values["max-length"], 5120),
      counter,
      ...(values["target-length"] !== undefined
        ? { targetLength: positiveInt("--target-length", values["target-length"], 0) }
        : {}),
      ...(values["total-steps"] !== undefined
        ? { totalSteps: positiveInt("--total-steps", values["total-steps"], 0) }
        : {}),
      maxBodyBytes: maxBodyMb === undefined ? DEFAULT_MAX_BODY_BYTES : Math.max(1, Math.floor(maxBodyMb * 2 ** 20)),
      maxItems: positiveInt("--max-items", values["max-items"], DEFAULT_MAX_ITEMS),
      log: values.quiet ? null : (line) => process.stdout.write(line + "\n"),
    });
    const params = Object.entries(shaping.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    console.error(
      `bcr serve-reward: listening on ${server.url} (POST /get_reward, GET /health); ` +
        `shaping ${shaping.name}${params ? ` ${params}` : ""}, template ${template}, counter ${counter}, ` +
        `${server.scoreWorkers} scoring worker(s), at most ${server.maxItems} items and ${server.maxBodyBytes} bytes per request`,
    );

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        // In flight = requests received so far; more may still be read from open connections
        // during the drain, and those are answered too.
        console.error(
          `bcr serve-reward: ${signal}: no new connections; finishing ${server.stats().inFlight} in-flight request(s), then exiting`,
        );
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
