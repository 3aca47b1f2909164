/**
 * Judging one experiment from its rows (rows.ts) with the pre-registered rules (rules.ts,
 * frontier.ts, sharing.ts): every interval is the three-level bootstrap over (SFT seed, RL seed,
 * problem), a problem's samples averaged inside it (analysis/nested.ts). The same function judges
 * a fresh run and `bcr study --rejudge` (rows read back from results/), so both give the same
 * verdicts.
 *
 * What each claim reads:
 *   2 free lunch   sampled N=1 rows of bcr and single: token reduction, accuracy difference
 *   3 loops        sampled N=1 rows: loops per response of bcr, single and the SFT model
 *   1 scaling      sweep rows of bcr and single at every N of the sweep, on the problems present at
 *                  every N (a pack of N keeps floor(P/N) * N problems): the bcr token slope and the
 *                  accuracy drops from N=1 to N=rules.maxN, from one joint draw
 *   frontier       sampled N=1 rows of bcr and the linear penalties: bcr's accuracy minus the
 *                  penalties' interpolated at bcr's tokens/problem. `single` is the penalty's
 *                  lambda = 0 point (the same reward with no length term, the same budget), so
 *                  it closes the frontier at the long end when it was run
 *   sharing        sweep rows at the largest N of bcr and bcr-split on mixed packs: hard-minus-easy
 *                  tokens and accuracy on hard problems; bcr-split's rows scored by its own rule
 *                  (an answer counts only if its tokens fit floor(sweep budget / N): withinCap)
 *   4 stability    not judged by the study runner (no experiment of issue 29 is built for it)
 * A gate failed on a majority of SFT seeds: every claim is "gate failed", with the gate's figure.
 */
import {
  type LongRow,
  nestedDiffCI,
  nestedFromRows,
  nestedJointResamples,
  nestedMeanCI,
  nestedReductionCI,
} from "../analysis/nested.js";
import type { Nested } from "../analysis/nested.js";
import { withinCap } from "../bcr/score.js";
import type { ArithmeticSide } from "./arithmetic.js";
import type { ClaimId, ExperimentSpec } from "./config.js";
import { frontierTest, type SampledArm } from "./frontier.js";
import { dropDifference, freeLunchRule, loopsRule, taskScalingRule } from "./rules.js";
import { sharingRule } from "./sharing.js";
import { slopeEstimate } from "./slope.js";
import type { RowsArchive, StudyRow } from "./rows.js";
import { type Estimate, fmt, fmtEstimate, type Sampled } from "./verdict.js";

export interface ClaimVerdict {
  id: ClaimId;
  verdict: string;
  figure: string;
}

export interface ArmSummary {
  arm: string;
  accuracy: Estimate;
  tokens: Estimate;
  loops: Estimate | null;
  greedyAccuracy: number | null;
}

export interface Judgement {
  claims: ClaimVerdict[];
  frontier: { diff: number | null; ci: [number, number] | null };
  arms: ArmSummary[];
  /** Descriptive lines beside the verdicts (difficulty split, continuation), not verdicts. */
  notes: string[];
  /**
   * Where replicates under other kernel sets were judged too (arithmetic.ts): every side's own
   * verdicts, this run's first; `claims` are then the verdicts across them. Absent otherwise.
   */
  arithmetic?: ArithmeticSide[];
}

type Spec = Pick<ExperimentSpec, "claims" | "rules" | "difficulty" | "continuation">;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Long rows of the selected rows with `value` as the measured number. */
function longRows(rows: readonly StudyRow[], value: (r: StudyRow) => number): LongRow[] {
  return rows.map((r) => ({ sft_seed: r.sft, rl_seed: r.rl, problem: r.problem, sample: r.sample, value: value(r) }));
}

function nestedOf(rows: readonly StudyRow[], value: (r: StudyRow) => number): Nested {
  return nestedFromRows(longRows(rows, value)).values;
}

export function judgeExperiment(archive: RowsArchive, spec: Spec): Judgement {
  const { meta, rows } = archive;
  const R = spec.rules;
  const opts = { seed: R.seed, resamples: R.bootstrap, level: R.level };
  const bySetArm = new Map<string, StudyRow[]>();
  for (const r of rows) {
    const k = `${r.set}|${r.arm}`;
    const l = bySetArm.get(k);
    if (l) l.push(r);
    else bySetArm.set(k, [r]);
  }
  const get = (set: string, arm: string) => bySetArm.get(`${set}|${arm}`) ?? [];
  const arms = [...new Set(rows.filter((r) => r.set === "n1").map((r) => r.arm))];

  if (!meta.gatePassed) {
    const figure = gateFigure(meta.gate);
    return {
      claims: spec.claims.map((id) => ({ id, verdict: "gate failed", figure })),
      frontier: { diff: null, ci: null },
      arms: [],
      notes: [],
    };
  }

  const summaries: ArmSummary[] = arms.map((arm) => {
    const n1 = get("n1", arm);
    const g = get("greedy", arm);
    return {
      arm,
      accuracy: nestedMeanCI(
        nestedOf(n1, (r) => r.correct),
        opts,
      ),
      tokens: nestedMeanCI(
        nestedOf(n1, (r) => r.tokens),
        opts,
      ),
      loops: n1.every((r) => r.loops !== null)
        ? nestedMeanCI(
            nestedOf(n1, (r) => r.loops ?? 0),
            opts,
          )
        : null,
      greedyAccuracy: g.length ? mean(g.map((r) => r.correct)) : null,
    };
  });

  const claims: ClaimVerdict[] = [];
  let frontier: Judgement["frontier"] = { diff: null, ci: null };
  const notes: string[] = [];
  const need = (...names: string[]) => {
    const missing = names.filter((a) => get("n1", a).length === 0);
    if (missing.length) throw new Error(`no rows of ${missing.join(", ")}`);
  };
  for (const id of spec.claims) {
    try {
      if (id === "2") {
        need("bcr", "single");
        const [b, s] = [get("n1", "bcr"), get("n1", "single")];
        const r = freeLunchRule({
          tokenReduction: nestedReductionCI(
            nestedOf(b, (x) => x.tokens),
            nestedOf(s, (x) => x.tokens),
            opts,
          ),
          accuracyDiff: toEstimate(
            nestedDiffCI(
              nestedOf(b, (x) => x.correct),
              nestedOf(s, (x) => x.correct),
              opts,
            ),
          ),
          margin: R.nonInferiorityMargin,
          minReduction: R.minReduction,
        });
        claims.push({ id, verdict: r.verdict, figure: r.figure });
      } else if (id === "3") {
        need("bcr", "single", "sft");
        const loops = (arm: string) => nestedOf(get("n1", arm), (x) => x.loops ?? 0);
        const recheck = meta.gate.flatMap((g) => g.gates).filter((g) => g.metric === "recheck_share");
        const r = loopsRule({
          diff: toEstimate(nestedDiffCI(loops("bcr"), loops("single"), opts)),
          bcr: nestedMeanCI(loops("bcr"), opts),
          sft: nestedMeanCI(loops("sft"), opts),
          ...(recheck.length ? { sftHasLoops: recheck.some((g) => g.measured > 0) } : {}),
          epsilon: R.loopsEpsilon,
        });
        claims.push({ id, verdict: r.verdict, figure: r.figure });
      } else if (id === "1") {
        const r = scalingClaim(get("sweep", "bcr"), get("sweep", "single"), R.maxN, opts);
        claims.push({ id, verdict: r.verdict, figure: r.figure });
      } else if (id === "frontier") {
        need("bcr");
        // single = linear@0: the long end of the penalty's frontier (see the header).
        const penalties = arms.filter((a) => /^linear@/.test(a) || a === "single");
        const joint = nestedJointResamples(
          Object.fromEntries(
            ["bcr", ...penalties].map((a) => [
              a,
              { tokens: nestedOf(get("n1", a), (x) => x.tokens), accuracy: nestedOf(get("n1", a), (x) => x.correct) },
            ]),
          ),
          opts,
        );
        const sampled = (a: string): SampledArm => {
          const s = summaries.find((x) => x.arm === a)!;
          return {
            name: a,
            tokens: { point: s.tokens.mean, resamples: joint[a]!.tokens! },
            accuracy: { point: s.accuracy.mean, resamples: joint[a]!.accuracy! },
          };
        };
        const r = frontierTest(sampled("bcr"), penalties.map(sampled), R.level);
        claims.push({ id, verdict: r.verdict, figure: r.figure });
        if (r.diff) frontier = { diff: r.diff.mean, ci: r.diff.ci };
      } else if (id === "sharing") {
        const r = sharingClaim(get("sweep", "bcr"), get("sweep", "bcr-split"), spec, meta.budgets.sweep, opts);
        claims.push({ id, verdict: r.verdict, figure: r.figure });
        notes.push(...r.notes);
      } else {
        claims.push({
          id,
          verdict: "not testable",
          figure: "claim 4 is not judged by the study runner (no experiment of issue 29 is built for it)",
        });
      }
    } catch (e) {
      claims.push({ id, verdict: "not testable", figure: `not measured: ${(e as Error).message}` });
    }
  }
  if (spec.continuation && meta.continuation) notes.push(...continuationNotes(rows, meta.continuation, opts));
  return { claims, frontier, arms: summaries, notes };
}

function toEstimate(d: { diff: number; ci: [number, number] }): Estimate {
  return { mean: d.diff, ci: d.ci };
}

/** "recheck_share 0.62 / 0.58 / 0.41 on SFT seeds 1 / 2 / 3 (needs >= 0.5): passed on 2 of 3". */
export function gateFigure(gates: RowsArchive["meta"]["gate"]): string {
  if (gates.length === 0) return "no gate measured";
  const metrics = [...new Set(gates.flatMap((g) => g.gates.map((x) => x.metric)))];
  const parts = metrics.map((m) => {
    const xs = gates.map((g) => g.gates.find((x) => x.metric === m)!);
    return `${m} ${xs.map((x) => fmt(x.measured)).join(" / ")} (needs ${xs[0]!.direction} ${fmt(xs[0]!.threshold)})`;
  });
  const passed = gates.filter((g) => g.passed).length;
  return `${parts.join("; ")} on SFT seeds ${gates.map((g) => g.sft).join(" / ")}: passed on ${passed} of ${gates.length}`;
}

/** Claim 1 from sweep rows (see the header). */
function scalingClaim(
  bcr: StudyRow[],
  single: StudyRow[],
  maxN: number,
  opts: { seed: number; resamples: number; level: number },
) {
  if (bcr.length === 0 || single.length === 0) throw new Error("no sweep rows of bcr or single");
  const ns = [...new Set(bcr.map((r) => r.n))].sort((a, b) => a - b);
  if (!ns.includes(1) || !ns.includes(maxN))
    throw new Error(`the sweep needs N=1 and N=${maxN} (has ${ns.join(", ")})`);
  // Problems present at every N, in both arms (each N keeps floor(P/N)*N of them).
  const sets = [...ns.map((n) => bcr.filter((r) => r.n === n)), ...ns.map((n) => single.filter((r) => r.n === n))].map(
    (rs) => new Set(rs.map((r) => r.problem)),
  );
  const common = [...sets[0]!].filter((p) => sets.every((s) => s.has(p)));
  const keep = new Set(common);
  const at = (rs: StudyRow[], n: number) => rs.filter((r) => r.n === n && keep.has(r.problem));
  const metrics = (rs: StudyRow[]) =>
    Object.fromEntries(
      ns.flatMap((n) => [
        [`tok@${n}`, nestedOf(at(rs, n), (x) => x.tokens)],
        [`acc@${n}`, nestedOf(at(rs, n), (x) => x.correct)],
      ]),
    );
  const arms = { bcr: metrics(bcr), single: metrics(single) };
  const joint = nestedJointResamples(arms, opts);
  const sampled = (arm: "bcr" | "single", m: string): Sampled => {
    const v = arms[arm][m]!;
    const point = mean(v.map((sft) => mean(sft.map((row) => mean(row)))));
    return { point, resamples: joint[arm]![m]! };
  };
  const slope = slopeEstimate(
    ns,
    ns.map((n) => sampled("bcr", `tok@${n}`)),
    opts.level,
  );
  const drop = dropDifference(
    { atOne: sampled("single", "acc@1"), atMax: sampled("single", `acc@${maxN}`) },
    { atOne: sampled("bcr", "acc@1"), atMax: sampled("bcr", `acc@${maxN}`) },
    opts.level,
  );
  const r = taskScalingRule({ slope, dropDifference: drop, maxN });
  return { ...r, figure: `${r.figure} (${common.length} problems present at every N)` };
}

/** Experiment B (see sharing.ts): from sweep rows at the largest N. */
function sharingClaim(
  bcr: StudyRow[],
  split: StudyRow[],
  spec: Spec,
  sweepBudget: number,
  opts: { seed: number; resamples: number; level: number },
) {
  const d = spec.difficulty;
  if (!d) throw new Error("no difficulty levels in the experiment");
  if (bcr.length === 0 || split.length === 0) throw new Error("no sweep rows of bcr or bcr-split");
  const n = Math.max(...bcr.map((r) => r.n));
  const cap = Math.max(1, Math.floor(sweepBudget / n));
  const atN = (rs: StudyRow[]) => rs.filter((r) => r.n === n);
  const b = atN(bcr),
    s = atN(split);
  const problems = [...new Set(b.map((r) => r.problem))];
  const levelOf = new Map(b.map((r) => [r.problem, r.level]));
  const hard = problems.filter((p) => d.hard.includes(levelOf.get(p) ?? -1));
  const easy = problems.filter((p) => d.easy.includes(levelOf.get(p) ?? -1));
  if (hard.length === 0 || easy.length === 0) throw new Error(`no ${hard.length ? "easy" : "hard"} problems at N=${n}`);
  const P = problems.length;
  const isHard = new Set(hard),
    isEasy = new Set(easy);
  // Contrasts as per-problem weights, so every metric covers the same problems (one joint draw):
  // the mean over all problems of the weighted value is mean(hard) - mean(easy), or mean(hard).
  const gapValue = (r: StudyRow) =>
    isHard.has(r.problem) ? (P * r.tokens) / hard.length : isEasy.has(r.problem) ? (-P * r.tokens) / easy.length : 0;
  const hardAcc = (correct: (r: StudyRow) => number) => (r: StudyRow) =>
    isHard.has(r.problem) ? (P * correct(r)) / hard.length : 0;
  const shared = (r: StudyRow) => r.correct;
  const capped = (r: StudyRow) => (r.correct && withinCap(r.tokens, cap) ? 1 : 0);
  const arms = {
    bcr: { gap: nestedOf(b, gapValue), hard: nestedOf(b, hardAcc(shared)) },
    split: { gap: nestedOf(s, gapValue), hard: nestedOf(s, hardAcc(capped)) },
  };
  const joint = nestedJointResamples(arms, opts);
  const point = (v: Nested) => mean(v.map((sft) => mean(sft.map((row) => mean(row)))));
  const sampled = (arm: "bcr" | "split", m: "gap" | "hard"): Sampled => ({
    point: point(arms[arm][m]),
    resamples: joint[arm]![m]!,
  });
  const r = sharingRule({
    bcr: { gap: sampled("bcr", "gap"), hardAccuracy: sampled("bcr", "hard") },
    split: { gap: sampled("split", "gap"), hardAccuracy: sampled("split", "hard") },
    level: opts.level,
  });
  const notes = (["bcr", "split"] as const).map(
    (a) =>
      `${a === "bcr" ? "bcr" : "bcr-split"} at N=${n} (budget ${sweepBudget}${a === "split" ? `, cap ${cap} per problem` : ""}): ` +
      `hard-minus-easy tokens/problem ${fmt(sampled(a, "gap").point)}, accuracy on hard problems ${fmt(sampled(a, "hard").point)} ` +
      `(${hard.length} hard, ${easy.length} easy problems)`,
  );
  return { ...r, figure: `${r.figure} (N=${n}, ${hard.length} hard and ${easy.length} easy problems)`, notes };
}

/** The continuation on one SFT seed: bcr - single at the main run's steps and at the continuation's. */
function continuationNotes(
  rows: readonly StudyRow[],
  c: { steps: number; sft: number; methods: string[] },
  opts: { seed: number; resamples: number; level: number },
): string[] {
  const [a, b] = c.methods.includes("bcr") && c.methods.includes("single") ? ["bcr", "single"] : c.methods;
  if (!a || !b) return [];
  const pick = (set: "n1" | "cont", arm: string) =>
    rows.filter((r) => r.set === set && r.arm === arm && r.sft === c.sft);
  const line = (set: "n1" | "cont", what: string) => {
    const ra = pick(set, a),
      rb = pick(set, b);
    if (!ra.length || !rb.length) return `${what}: no rows`;
    const acc = nestedDiffCI(
      nestedOf(ra, (x) => x.correct),
      nestedOf(rb, (x) => x.correct),
      opts,
    );
    const tok = nestedDiffCI(
      nestedOf(ra, (x) => x.tokens),
      nestedOf(rb, (x) => x.tokens),
      opts,
    );
    return `${what}: accuracy ${a} - ${b} ${fmtEstimate(toEstimate(acc))}, tokens/problem ${fmtEstimate(toEstimate(tok))}`;
  };
  return [
    `continuation on SFT seed ${c.sft} (RL seeds and problems resampled; descriptive, not a verdict):`,
    line("n1", "main runs"),
    line("cont", `${c.steps}-step runs`),
  ];
}
