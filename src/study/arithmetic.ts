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
 * What tells two sides' arithmetic apart is the arithmetic fingerprint (src/model/arithmetic-fingerprint.ts),
 * recorded in the rows meta (`arithmetic`) or the machine.json beside them, not the kernel set's
 * name: OpenBLAS's core names are not its arithmetic (on one AMD EPYC, Haswell and Zen computed
 * the same bits, Cooperlake others). The name stays for people, with the fingerprint's first
 * digits beside it: "native (OpenBLAS Haswell) [d6d52bff]".
 *
 * What is refused, because the comparison would mean nothing: a replicate with the fingerprint of
 * the run it replicates (it did not vary the arithmetic); where a side has no fingerprint (archives
 * from before it), a replicate on the same engine (native against native, whatever the core
 * names: nothing says their bits differ), since only native against wasm is known to differ; one
 * made from another config (another experiment hash); one whose kernel set cannot be told. A
 * replicate without rows for an experiment is not used for it, and the log says so.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendInfo } from "../engine/backend.js";
import { isFingerprint, LABEL_DIGITS } from "../model/arithmetic-fingerprint.js";
import type { Log } from "../reproduce/layout.js";
import { type Experiment, experimentHash } from "./config.js";
import { type ClaimVerdict, gateFigure, type Judgement, judgeExperiment } from "./judge.js";
import { ROWS_FILE, type RowsArchive, type RowsMeta, readRows } from "./rows.js";
import { acrossArithmeticResults, type Verdict } from "./verdict.js";

/**
 * Written beside each experiment's rows by `bcr study` (runner.ts) when it assembles them: the
 * backend and arithmetic fingerprint (`arithmetic`) they were computed with.
 */
export const MACHINE_FILE = "machine.json";

/** One kernel set's verdicts on one experiment, as study.json records them beside the combined ones. */
export interface ArithmeticSide {
  /** The kernel set (kernelSetOf), with the fingerprint's first digits where known (labelOf). */
  kernels: string;
  /** The arithmetic fingerprint, absent where the rows' record has none. */
  arithmetic?: string;
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

/** What the rows of one archive were computed with: the kernel set's name and, where recorded, the fingerprint. */
export interface RowsArithmetic {
  kernels: string;
  fingerprint: string | null;
  /** Where the fingerprint was looked for, for messages: the rows' meta, then this machine.json. */
  machineFile: string;
}

/** The machine.json beside `rowsFile`, null where there is none. */
function readMachine(file: string): { backend?: Pick<BackendInfo, "name" | "kernels">; arithmetic?: unknown } | null {
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not readable JSON (${(e as Error).message})`);
  }
}

/**
 * The kernel set and fingerprint of the rows in `rowsFile`: its meta's, else (archives from before
 * the fields) the machine.json beside it; null where neither names the kernel set.
 */
export function arithmeticOfRows(meta: RowsMeta, rowsFile: string): RowsArithmetic | null {
  const machineFile = path.join(path.dirname(rowsFile), MACHINE_FILE);
  const needsMachine = meta.kernels === undefined || meta.arithmetic === undefined;
  const machine = needsMachine ? readMachine(machineFile) : null;
  let kernels = meta.kernels;
  if (kernels === undefined) {
    if (!machine) return null;
    if (typeof machine.backend?.name !== "string")
      throw new Error(`${machineFile}: field backend.name missing: cannot tell the kernel set of ${rowsFile}`);
    kernels = kernelSetOf(machine.backend);
  }
  let fingerprint = meta.arithmetic ?? null;
  if (fingerprint === null && machine?.arithmetic !== undefined) {
    if (typeof machine.arithmetic !== "string" || !isFingerprint(machine.arithmetic))
      throw new Error(
        `${machineFile}: field arithmetic must be an arithmetic fingerprint (16 hex digits), got ${JSON.stringify(machine.arithmetic)}`,
      );
    fingerprint = machine.arithmetic;
  }
  return { kernels, fingerprint, machineFile };
}

/** The kernel set of `rowsFile`, or an error saying why a comparison of kernel sets needs it. */
function requireArithmetic(meta: RowsMeta, rowsFile: string): RowsArithmetic {
  const a = arithmeticOfRows(meta, rowsFile);
  if (a === null)
    throw new Error(
      `${rowsFile}: cannot tell its kernel set (its meta has no field kernels and there is no ${MACHINE_FILE} beside it), so it cannot be compared across kernel sets`,
    );
  return a;
}

/** The label people read: the kernel set, with the fingerprint's first digits where known. */
export function labelOf(a: Pick<RowsArithmetic, "kernels" | "fingerprint">): string {
  return a.fingerprint ? `${a.kernels} [${a.fingerprint.slice(0, LABEL_DIGITS)}]` : a.kernels;
}

/** The engine a kernel set's name says: "native" for every OpenBLAS core, else the name itself. */
function engineOf(kernels: string): string {
  return kernels.startsWith("native") ? "native" : kernels;
}

/**
 * Throws where `b` cannot be taken to compute with other arithmetic than `a` (see the header):
 * the same fingerprint, or, where either has none, the same engine.
 */
function checkDiffer(a: RowsArithmetic & { file: string }, b: RowsArithmetic & { file: string }): void {
  if (a.fingerprint && b.fingerprint) {
    if (a.fingerprint === b.fingerprint)
      throw new Error(
        `${b.file} was computed with the arithmetic of ${a.file} (fingerprint ${a.fingerprint}; kernel sets ${labelOf(b)} and ${labelOf(a)}): a replicate of the arithmetic runs under arithmetic of its own (BCR_KERNELS=wasm or native, or OPENBLAS_CORETYPE with another fingerprint: \`bcr info\` prints it)`,
      );
    return;
  }
  if (engineOf(a.kernels) !== engineOf(b.kernels)) return;
  const unknown = [a, b]
    .filter((s) => !s.fingerprint)
    .map((s) => `${s.file} is unknown (no arithmetic fingerprint in its meta or in ${s.machineFile})`);
  throw new Error(
    `${b.file} (${labelOf(b)}) and ${a.file} (${labelOf(a)}) run on the same engine, and the arithmetic of ${unknown.join(" and of ")}: an OpenBLAS core name is not evidence of other arithmetic (Haswell and Zen compute the same bits), so they cannot be told to be a replicate of the arithmetic. Record the fingerprint of the machine and environment that made it (field arithmetic of its ${MACHINE_FILE}, as \`bcr info\` prints it there) or replicate on the other engine`,
  );
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
  const arithmetics = judged.map((s) => ({ ...requireArithmetic(s.archive.meta, s.file), file: s.file }));
  arithmetics.forEach((b, j) => {
    for (const a of arithmetics.slice(0, j)) checkDiffer(a, b);
  });
  const sides: ArithmeticSide[] = judged.map((s, i) => {
    const a = arithmetics[i]!;
    const { gate, gatePassed } = s.archive.meta;
    return {
      kernels: labelOf(a),
      ...(a.fingerprint ? { arithmetic: a.fingerprint } : {}),
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
