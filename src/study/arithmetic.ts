/**
 * Verdicts across kernel sets: the arithmetic is a random factor too (the same commit gave bcr
 * 0.684 and 0.884 on two CPUs), so a verdict must survive a change of kernels to stand.
 *
 * A replicate is an experiment of the study run again with the same config in its own runs and
 * results folders under another kernel set (BCR_KERNELS=wasm against the native set, or the
 * native set on a CPU whose OpenBLAS kernels differ); the study config's arithmeticReplicates
 * lists those results folders. For each experiment with rows in a replicate, every claim is
 * judged on each side by the same rules (judge.ts), and the verdict that stands is the one every
 * kernel set gives; a verdict that differs is not decided (verdict.ts, acrossArithmeticResults).
 * A gate passed on one side and failed on the other makes every claim not decided the same way:
 * "gate failed" is a verdict like the others.
 *
 * What is refused, because the comparison would mean nothing: a replicate under the kernel set of
 * the run it replicates (it would not vary the arithmetic), one made from another config (another
 * experiment hash), one whose kernel set cannot be told. A replicate without rows for an
 * experiment is not used for it, and the log says so.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendInfo } from "../engine/backend.js";
import type { Log } from "../reproduce/layout.js";
import { type Experiment, experimentHash } from "./config.js";
import { type ClaimVerdict, gateFigure, type Judgement, judgeExperiment } from "./judge.js";
import { ROWS_FILE, type RowsArchive, type RowsMeta, readRows } from "./rows.js";
import { acrossArithmeticResults, type Verdict } from "./verdict.js";

/** Written beside each experiment's rows by `bcr study` (runner.ts): the backend the rows were judged under. */
export const MACHINE_FILE = "machine.json";

/** One kernel set's verdicts on one experiment, as study.json records them beside the combined ones. */
export interface ArithmeticSide {
  /** The kernel set (kernelSetOf). */
  kernels: string;
  /** The rows archive these verdicts were judged from. */
  rows: string;
  gate: { passed: boolean; figure: string };
  claims: ClaimVerdict[];
}

/** Rows read from an archive and judged by the experiment's rules. */
export interface JudgedRows {
  file: string;
  archive: RowsArchive;
  judgement: Judgement;
}

/**
 * The kernel set a backend computes with: "wasm" (XNNPACK), "native (OpenBLAS <core>)", or the
 * backend's name (tensorflow, cpu). OpenBLAS's core is part of it because OpenBLAS picks its
 * kernels by CPU (Zen, Haswell, SkylakeX, ...) and they round differently: the same native set on
 * another CPU is another arithmetic.
 */
export function kernelSetOf(b: Pick<BackendInfo, "name" | "kernels">): string {
  if (b.name !== "wasm" || !b.kernels) return b.name;
  if (b.kernels.engine === "wasm") return "wasm";
  const core = b.kernels.blas?.corename;
  return core ? `native (OpenBLAS ${core})` : "native (OpenBLAS)";
}

/**
 * The kernel set of the rows in `rowsFile`: its meta's, else (archives from before the field) the
 * machine.json beside it; null where neither exists.
 */
export function kernelSetOfRows(meta: RowsMeta, rowsFile: string): string | null {
  if (meta.kernels !== undefined) return meta.kernels;
  const file = path.join(path.dirname(rowsFile), MACHINE_FILE);
  if (!fs.existsSync(file)) return null;
  let machine: { backend?: Pick<BackendInfo, "name" | "kernels"> };
  try {
    machine = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not readable JSON (${(e as Error).message})`);
  }
  if (typeof machine.backend?.name !== "string")
    throw new Error(`${file}: field backend.name missing: cannot tell the kernel set of ${rowsFile}`);
  return kernelSetOf(machine.backend);
}

/** The kernel set of `rowsFile`, or an error saying why a comparison of kernel sets needs it. */
function requireKernelSet(meta: RowsMeta, rowsFile: string): string {
  const k = kernelSetOfRows(meta, rowsFile);
  if (k === null)
    throw new Error(
      `${rowsFile}: cannot tell its kernel set (its meta has no field kernels and there is no ${MACHINE_FILE} beside it), so it cannot be compared across kernel sets`,
    );
  return k;
}

/**
 * The replicates of `main`'s experiment found in `replicateOuts` (each <out>/study/<id>/rows.jsonl.gz),
 * read and checked (see the header). A replicate folder that is `out` itself is this call's own
 * run (the command that makes a replicate names it as --out), so it is skipped.
 */
export function readReplicates(
  exp: Experiment,
  main: Pick<JudgedRows, "file" | "archive">,
  replicateOuts: readonly string[],
  out: string,
  log: Log,
): { file: string; archive: RowsArchive }[] {
  const id = exp.spec.id;
  const found: { file: string; archive: RowsArchive }[] = [];
  for (const r of replicateOuts) {
    if (path.resolve(r) === path.resolve(out)) {
      log(`[study] ${id}: arithmetic replicate ${r} is this call's own results folder: not compared with itself`);
      continue;
    }
    const file = path.join(r, "study", id, ROWS_FILE);
    if (!fs.existsSync(file)) {
      log(`[study] ${id}: arithmetic replicate ${r} has no rows for ${id} (${file}): not used for it`);
      continue;
    }
    const archive = readRows(file);
    if (archive.meta.id !== id)
      throw new Error(`${file}: holds the rows of experiment ${archive.meta.id}, not of ${id} (arithmeticReplicates)`);
    const expected = main.archive.meta.experiment_hash ?? experimentHash(exp);
    // The main rows' own record where they have one; rows from before the field were run from the config as it is now.
    const whose = main.archive.meta.experiment_hash
      ? `${main.file} (experiment hash ${expected})`
      : `${exp.file} (experiment hash ${expected}; ${main.file} predates the field)`;
    if (archive.meta.experiment_hash === undefined)
      throw new Error(
        `${file}: its meta records no experiment_hash (assembled before the field), so it cannot be told to come from the config of ${whose}`,
      );
    if (archive.meta.experiment_hash !== expected)
      throw new Error(
        `${file}: experiment ${id} was run with another config (experiment hash ${archive.meta.experiment_hash}) than ${whose}: a replicate of the arithmetic runs the same config`,
      );
    found.push({ file, archive });
  }
  return found;
}

/**
 * `main`'s judgement with every claim's verdict taken across it and its replicates under other
 * kernel sets (see the header): each claim's figure holds every side's verdict and figure, and
 * `arithmetic` every side's own verdicts. `main.judgement` itself when no replicate has rows for
 * the experiment.
 */
export function acrossKernelSets(
  exp: Experiment,
  main: JudgedRows,
  replicateOuts: readonly string[],
  out: string,
  log: Log,
): Judgement {
  const replicates = readReplicates(exp, main, replicateOuts, out, log);
  if (replicates.length === 0) return main.judgement;
  const judged: JudgedRows[] = [
    main,
    ...replicates.map((r) => ({ ...r, judgement: judgeExperiment(r.archive, exp.spec) })),
  ];
  const seen = new Map<string, string>();
  const sides: ArithmeticSide[] = judged.map((s) => {
    const kernels = requireKernelSet(s.archive.meta, s.file);
    const other = seen.get(kernels);
    if (other !== undefined)
      throw new Error(
        `${s.file} was computed with the kernel set ${kernels}, as was ${other}: a replicate of the arithmetic runs under another kernel set (BCR_KERNELS=wasm or native, or another CPU's OpenBLAS kernels)`,
      );
    seen.set(kernels, s.file);
    const { gate, gatePassed } = s.archive.meta;
    return {
      kernels,
      rows: s.file,
      gate: { passed: gatePassed, figure: gateFigure(gate) },
      claims: s.judgement.claims,
    };
  });
  log(`[study] ${exp.spec.id}: verdicts across kernel sets ${sides.map((s) => `${s.kernels} (${s.rows})`).join(", ")}`);
  const claims = main.judgement.claims.map((c): ClaimVerdict => {
    const combined = acrossArithmeticResults(
      sides.map((s) => {
        const mine = s.claims.find((x) => x.id === c.id)!;
        return { label: s.kernels, result: { verdict: mine.verdict as Verdict, figure: mine.figure, parts: {} } };
      }),
    );
    return { id: c.id, verdict: combined.verdict, figure: combined.figure };
  });
  return { ...main.judgement, claims, arithmetic: sides };
}
