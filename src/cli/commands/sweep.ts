import { parseFlags, UsageError, type Command } from "../command.js";
import type { Problem, TemplateName } from "../../bcr/index.js";
import { loadLocalModel } from "../../train/load-local.js";
import { OpenAIModel } from "../../eval/openai-client.js";
import { loadProblemsFile } from "../../data/problems-file.js";
import { type BudgetRule, parseBudget, sweepN } from "../../eval/sweep.js";
import type { CompletionModel } from "../../model/completion.js";
import { generateProblems } from "../../tasks/synthetic.js";
import { stopOnSignals } from "../../run/interrupt.js";

const usage = `usage: bcr sweep --model local:<checkpoint>|openai[:<model>] --data <file.jsonl>|synthetic --out <dir> [options]

Runs the N-sweep: packs groups of N problems, asks the model under one token budget, scores,
and writes rows.csv, rows.jsonl, summary.json and a resumable cache.jsonl to --out.
Re-running with the same settings asks only the groups not done yet.

  --model <m>          local:<checkpoint, checkpoints folder or run folder> | openai[:<model>]
  --ns <list>          values of N (default 1,2,3,4,6,8)
  --data <d>           JSONL of problems ({id,question,answer,difficulty?} or GSM8K) or "synthetic"
  --limit <k>          use the first k problems of the file
  --count <k>          synthetic: number of problems (default 96)
  --levels <list>      synthetic: difficulty levels (default 1,2,3)
  --budget <b>         fixed:<tokens> (same cap for every N) or per:<tokens> (tokens x N); default per:128
  --out <dir>          output folder (required)
  --template <t>       compact | natural (default: compact for synthetic data or a local model,
                       whose character vocabulary cannot spell the natural template; natural otherwise)
  --seed <s>           grouping / sampling / bootstrap seed (default 0)
  --rotations <r>      rotations per base group (default N: every problem at every position)
  --max-groups <g>     at most g base groups per N
  --temperature <t>    sampling temperature (default 0, greedy)
  --samples <k>        independent draws per group at temperature > 0, each with its own seed
                       (default 1; greedy is asked once)
  --batch-size <k>     groups per model call (default 8)
  --retry-failed       ask again groups that failed in an earlier run
  openai endpoint (defaults from OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_API_KEY):
  --base-url <url>     e.g. http://127.0.0.1:8000/v1
  --mode <m>           completions | chat (default completions)
  --concurrency <k>    requests in flight (default 8)
  --timeout-ms <ms>    per-request timeout (default 120000)
  --max-retries <k>    retries per request (default 4)`;

function int(name: string, v: string | undefined, dflt?: number): number | undefined {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

function intList(name: string, v: string): number[] {
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1))
    throw new UsageError(`--${name} must be a comma list of positive integers, got ${JSON.stringify(v)}`);
  return xs;
}

export const command: Command = {
  name: "sweep",
  summary: "N-sweep: accuracy and tokens per problem vs the number of problems per context",
  usage,
  async run(argv) {
    const values = parseFlags(argv, {
      model: { type: "string" },
      ns: { type: "string", default: "1,2,3,4,6,8" },
      data: { type: "string" },
      limit: { type: "string" },
      count: { type: "string" },
      levels: { type: "string", default: "1,2,3" },
      budget: { type: "string", default: "per:128" },
      out: { type: "string" },
      template: { type: "string" },
      seed: { type: "string" },
      rotations: { type: "string" },
      "max-groups": { type: "string" },
      temperature: { type: "string" },
      samples: { type: "string" },
      "batch-size": { type: "string" },
      "retry-failed": { type: "boolean" },
      "base-url": { type: "string" },
      mode: { type: "string" },
      concurrency: { type: "string" },
      "timeout-ms": { type: "string" },
      "max-retries": { type: "string" },
    });
    if (!values.model) throw new UsageError("--model is required");
    if (!values.data) throw new UsageError("--data is required");
    if (!values.out) throw new UsageError("--out is required");
    let budget: BudgetRule;
    try {
      budget = parseBudget(values.budget);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const template = (values.template ??
      (values.data === "synthetic" || values.model?.startsWith("local:") ? "compact" : "natural")) as TemplateName;
    if (template !== "compact" && template !== "natural")
      throw new UsageError(`--template must be compact or natural, got ${template}`);
    const mode = values.mode ?? "completions";
    if (mode !== "completions" && mode !== "chat")
      throw new UsageError(`--mode must be completions or chat, got ${mode}`);
    const temperature = values.temperature === undefined ? 0 : Number(values.temperature);
    if (!(temperature >= 0)) throw new UsageError(`--temperature must be >= 0, got ${values.temperature}`);
    const seed = int("seed", values.seed, 0)!;

    const problems: Problem[] =
      values.data === "synthetic"
        ? generateProblems(seed, int("count", values.count, 96)!, intList("levels", values.levels))
        : loadProblemsFile(values.data, { limit: int("limit", values.limit) });

    let model: CompletionModel;
    if (values.model.startsWith("local:")) {
      model = await loadLocalModel(values.model.slice("local:".length));
    } else if (values.model === "openai" || values.model.startsWith("openai:")) {
      const id = values.model.startsWith("openai:") ? values.model.slice("openai:".length) : undefined;
      model = new OpenAIModel({
        ...(id ? { model: id } : {}),
        ...(values["base-url"] ? { baseUrl: values["base-url"] } : {}),
        mode,
        concurrency: int("concurrency", values.concurrency, 8),
        timeoutMs: int("timeout-ms", values["timeout-ms"], 120_000),
        maxRetries: int("max-retries", values["max-retries"], 4),
      });
    } else throw new UsageError(`--model must be local:<checkpoint> or openai[:<model>], got ${values.model}`);

    // SIGINT/SIGTERM: stop before the next batch of groups; the cache keeps the finished ones, so
    // the same command resumes. Exit status 130 (SIGINT) or 143 (SIGTERM), interrupt.ts.
    const stop = stopOnSignals("bcr sweep");
    try {
      const { summary } = await sweepN({
        model,
        problems,
        ns: intList("ns", values.ns),
        budget,
        outDir: values.out,
        template,
        seed,
        temperature,
        samples: int("samples", values.samples, 1),
        rotations: int("rotations", values.rotations),
        maxGroups: int("max-groups", values["max-groups"]),
        batchSize: int("batch-size", values["batch-size"], 8),
        retryFailed: values["retry-failed"] ?? false,
        signal: stop.signal,
      });
      const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "-");
      console.log(
        `model ${summary.model}  template ${summary.template}  budget ${summary.budget}  asked ${summary.asked} group draws, ${summary.cached} from cache (${summary.samples} per group)`,
      );
      console.log("N\taccuracy [95% CI]\ttokens/problem [95% CI]\ttruncated\tfailed");
      for (const s of summary.perN) {
        console.log(
          `${s.n}\t${f(s.accuracy.mean)} [${f(s.accuracy.ci[0])}, ${f(s.accuracy.ci[1])}]\t` +
            `${f(s.tokensPerProblem.mean)} [${f(s.tokensPerProblem.ci[0])}, ${f(s.tokensPerProblem.ci[1])}]${s.tokensEstimated ? " (est.)" : ""}\t` +
            `${f(s.truncationRate.mean)}\t${s.failed}`,
        );
      }
      console.log(`wrote ${values.out}/rows.csv, rows.jsonl, summary.json`);
      return 0;
    } catch (e) {
      if (!stop.signal.aborted) throw e;
      console.error(
        `bcr sweep: ${stop.received()}: stopped; the groups finished so far are cached in ${values.out}; run the same command again to resume`,
      );
      return stop.exitCode()!;
    } finally {
      stop.release();
    }
  },
};
