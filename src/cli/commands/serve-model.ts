import { parseFlags, UsageError, type Command } from "../command.js";
import { startModelServer } from "../../serve/model-server.js";

const usage = `usage: bcr serve-model --checkpoint <dir> [--port 8000] [--host 127.0.0.1] [options]

Serves a local checkpoint with the OpenAI-compatible API: GET /health, GET /v1/models,
POST /v1/completions, POST /v1/chat/completions. Concurrent requests are micro-batched and
sampled in a worker thread (the checkpoint is loaded there), so /health answers during a batch.
Point clients at http://<host>:<port>/v1 (e.g. OPENAI_BASE_URL for bcr sweep --model openai).

  --checkpoint <dir>      checkpoint directory, checkpoints folder or run folder (required)
  --port <p>              port (default 8000; 0 picks a free one)
  --host <h>              interface (default 127.0.0.1)
  --name <id>             model id reported by /v1/models (default: the checkpoint path)
  --batch-window-ms <ms>  how long a request waits for others to batch with (default 5)
  --max-batch <k>         most sequences per generate call (default 32)
  --unknown-chars <m>     reject (default: 400 naming the character) | replace:<char> (map it)
  --request-timeout-s <s> a body not fully received within s seconds gets 408 (default 60)
  --headers-timeout-s <s> headers not fully received within s seconds get 408 (default 10)
  --drain-timeout-s <s>   on SIGINT/SIGTERM, force-close connections still open after s seconds (default 30)
On SIGINT/SIGTERM: stops accepting connections, answers every request already received, then exits.`;

export const command: Command = {
  name: "serve-model",
  summary: "serve a checkpoint over an OpenAI-compatible HTTP API",
  usage,
  async run(argv) {
    const values = parseFlags(argv, {
      checkpoint: { type: "string" },
      port: { type: "string", default: "8000" },
      host: { type: "string", default: "127.0.0.1" },
      name: { type: "string" },
      "batch-window-ms": { type: "string", default: "5" },
      "max-batch": { type: "string", default: "32" },
      "unknown-chars": { type: "string", default: "reject" },
      "request-timeout-s": { type: "string" },
      "headers-timeout-s": { type: "string" },
      "drain-timeout-s": { type: "string" },
    });
    if (!values.checkpoint) throw new UsageError("--checkpoint is required");
    const num = (k: string, v: string, min: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min)
        throw new UsageError(`--${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
      return n;
    };
    const uc = values["unknown-chars"];
    let unknownChars: "reject" | { replace: string };
    if (uc === "reject") unknownChars = "reject";
    else if (uc.startsWith("replace:") && [...uc.slice(8)].length === 1) unknownChars = { replace: uc.slice(8) };
    else throw new UsageError(`--unknown-chars must be reject or replace:<one character>, got ${JSON.stringify(uc)}`);

    const ms = (k: "request-timeout-s" | "headers-timeout-s" | "drain-timeout-s"): number | undefined => {
      const v = values[k];
      if (v === undefined) return undefined;
      const x = Number(v);
      if (!(Number.isFinite(x) && x > 0))
        throw new UsageError(`--${k} must be a positive number of seconds, got ${JSON.stringify(v)}`);
      return x * 1000;
    };
    const timeouts = Object.fromEntries(
      (
        [
          ["requestTimeoutMs", ms("request-timeout-s")],
          ["headersTimeoutMs", ms("headers-timeout-s")],
          ["drainTimeoutMs", ms("drain-timeout-s")],
        ] as const
      ).filter(([, v]) => v !== undefined),
    );
    const srv = await startModelServer({
      checkpoint: values.checkpoint,
      ...(values.name !== undefined ? { name: values.name } : {}),
      host: values.host,
      port: num("port", values.port, 0),
      batchWindowMs: num("batch-window-ms", values["batch-window-ms"], 0),
      maxBatch: num("max-batch", values["max-batch"], 1),
      unknownChars,
      ...timeouts,
    });
    const ck = srv.checkpoint!;
    if (srv.workerFailure)
      console.error(
        `bcr serve-model: sampling on the event loop (the generation thread did not start: ${srv.workerFailure})`,
      );
    console.log(`serving ${ck.dir} (step ${ck.step}) at ${srv.baseUrl}  (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        console.log("stopping: no new connections; answering the requests already received");
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    await srv.close();
    return 0;
  },
};
