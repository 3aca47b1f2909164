import { TEMPLATES } from "../../bcr/index.js";
import type { TemplateName } from "../../bcr/types.js";
import { EXPORT_FORMATS, exportProblems, type ExportFormat, type Grouping } from "../../export/dataset.js";
import { loadProblems, SOURCES, type SourceName } from "../../export/sources.js";
import { intFlag, parseFlags, UsageError, type Command } from "../command.js";

const usage = `usage: bcr export-dataset --out DIR [options]

Writes packed BCR training prompts (N problems each) with their gold answers as labels, as
JSONL and Parquet, in OpenRLHF's and verl's layouts (see docs/distributed.md).

  --out DIR            output folder (files <name>.openrlhf.jsonl/.parquet, <name>.verl.jsonl/.parquet, <name>.manifest.json)
  --n N                problems per prompt (default 3)
  --source NAME        ${SOURCES.join(" | ")} (default synthetic)
  --file PATH          input file for problems / gsm8k / math
  --count N            synthetic: problems to generate (default 3000)
  --levels 1,2,3,4     synthetic: difficulty levels
  --limit N            keep at most N packed prompts
  --seed N             grouping (and synthetic generation) seed (default 0)
  --grouping NAME      balanced (default: similar mean difficulty per group) | random
  --template NAME      natural (default; the one for real models) | compact
  --format NAME        openrlhf | verl | both (default both)
  --input-key KEY      OpenRLHF prompt field (default input)
  --label-key KEY      OpenRLHF label field (default label)
  --data-source NAME   data_source field (default bcr/<source>)
  --split NAME         split recorded in verl extra_info and the file names (default train)
  --no-parquet         JSONL only`;

export const command: Command = {
  name: "export-dataset",
  summary: "write packed BCR prompts + labels for OpenRLHF / verl (JSONL and Parquet)",
  usage,
  async run(argv) {
    const values = parseFlags(argv, {
      out: { type: "string" },
      n: { type: "string" },
      source: { type: "string" },
      file: { type: "string" },
      count: { type: "string" },
      levels: { type: "string" },
      limit: { type: "string" },
      seed: { type: "string" },
      grouping: { type: "string" },
      template: { type: "string" },
      format: { type: "string" },
      "input-key": { type: "string" },
      "label-key": { type: "string" },
      "data-source": { type: "string" },
      split: { type: "string" },
      "no-parquet": { type: "boolean" },
    });
    if (!values.out) throw new UsageError("--out is required");
    const source = (values.source ?? "synthetic") as SourceName;
    if (!SOURCES.includes(source))
      throw new UsageError(`--source must be one of ${SOURCES.join(", ")}, got '${source}'`);
    const template = (values.template ?? "natural") as TemplateName;
    if (!TEMPLATES.includes(template)) throw new UsageError(`--template must be one of ${TEMPLATES.join(", ")}`);
    const grouping = (values.grouping ?? "balanced") as Grouping;
    if (grouping !== "balanced" && grouping !== "random") throw new UsageError(`--grouping must be balanced or random`);
    const format = values.format ?? "both";
    const formats: readonly ExportFormat[] =
      format === "both"
        ? EXPORT_FORMATS
        : EXPORT_FORMATS.includes(format as ExportFormat)
          ? [format as ExportFormat]
          : [];
    if (formats.length === 0) throw new UsageError(`--format must be openrlhf, verl or both, got '${format}'`);
    const levels = values.levels?.split(",").map((s) => intFlag(s.trim(), "levels") ?? 0);
    const seed = intFlag(values.seed, "seed", 0) ?? 0;
    const n = intFlag(values.n, "n") ?? 3;
    if ((source === "problems" || source === "gsm8k" || source === "math") && !values.file)
      throw new UsageError(`--source ${source} needs --file`);

    const problems = await loadProblems({
      source,
      seed,
      ...(values.file ? { file: values.file } : {}),
      ...(values.count ? { count: intFlag(values.count, "count") ?? 3000 } : {}),
      ...(levels ? { levels } : {}),
    });
    const result = exportProblems(problems, {
      outDir: values.out,
      n,
      seed,
      grouping,
      template,
      formats,
      parquet: !values["no-parquet"],
      inputKey: values["input-key"] ?? "input",
      labelKey: values["label-key"] ?? "label",
      dataSource: values["data-source"] ?? `bcr/${source}`,
      split: values.split ?? "train",
      ...(values.limit ? { limit: intFlag(values.limit, "limit") ?? 1 } : {}),
      meta: { source, ...(values.file ? { file: values.file } : {}) },
    });
    console.log(
      `wrote ${result.prompts} packed prompts (N=${n}, ${template}) from ${problems.length} ${source} problems:`,
    );
    // Problems in no prompt are named, here and in the manifest (left_over, unused_by_limit).
    if (result.leftOver.length) {
      console.log(
        `  ${result.leftOver.length} left over (${problems.length} is not a multiple of N=${n}; not exported): ${result.leftOver.join(", ")}`,
      );
    }
    if (result.unused.length)
      console.log(`  ${result.unused.length} not used because of --limit (ids in the manifest)`);
    for (const f of result.files) console.log(`  ${f}`);
    return 0;
  },
};
