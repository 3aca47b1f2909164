/**
 * The shared vocabulary of the regime study's rules: the verdicts, what a rule returns, the gate
 * that comes before any verdict, the combiner over two arithmetic settings, and the one way an
 * interval is made from a point and its aligned bootstrap resamples.
 *
 * Verdicts (rigor.md):
 *   held / partially / not held   the rule was judged: all, some or none of its halves held;
 *   not testable                  the rule cannot be judged from what was run (a penalty below
 *                                 lambda* is missing, the SFT model has no loops to remove);
 *   gate failed                   the experiment's gate (a property of the SFT model that gives
 *                                 the experiment its meaning) failed, so nothing is judged;
 *   not decided                   an interval straddles the line, or two arithmetic settings
 *                                 (kernel sets) disagree: a verdict must survive a change of
 *                                 kernels (the same commit gave bcr 0.884 and 0.684 on two CPUs).
 */
import { percentileInterval } from "../analysis/bootstrap.js";

export type Verdict = "held" | "partially" | "not held" | "not testable" | "gate failed" | "not decided";

/** A point estimate with its interval (MeanCI's shape, so analysis results go in as they are). */
export interface Estimate {
  mean: number;
  ci: [number, number];
}

/**
 * A statistic with its bootstrap distribution: `resamples[r]` comes from resample r of one joint
 * draw (nestedJointResamples), so several of these can be combined index by index.
 */
export interface Sampled {
  point: number;
  resamples: readonly number[];
}

/** One half of a rule: whether it held, and the numbers that decided it. */
export interface RulePart {
  held: boolean;
  figure: string;
}

export interface RuleResult {
  verdict: Verdict;
  /** One line: the deciding numbers and intervals, readable without the code. */
  figure: string;
  /** Each half's result, where the rule has halves (empty otherwise). */
  parts: Record<string, RulePart>;
}

/** Three significant digits, without exponent clutter for ordinary magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(3)));
}

/** "mean [lo, hi]" in fmt's digits. */
export function fmtEstimate(e: Estimate): string {
  return `${fmt(e.mean)} [${fmt(e.ci[0])}, ${fmt(e.ci[1])}]`;
}

/** held when every half held, partially when some did, not held when none did. */
export function fromHalves(parts: Record<string, RulePart>): Verdict {
  const held = Object.values(parts).filter((p) => p.held).length;
  const all = Object.keys(parts).length;
  return held === all ? "held" : held > 0 ? "partially" : "not held";
}

/** A rule's figure from its halves: "name: figure; name: figure". */
export function joinParts(parts: Record<string, RulePart>): string {
  return Object.entries(parts)
    .map(([name, p]) => `${name} ${p.held ? "held" : "not held"}: ${p.figure}`)
    .join("; ");
}

/**
 * f applied to the points and to every resample index of its inputs: a bootstrap of any
 * statistic of several aligned means (a slope over N, a difference of drops, a ratio). Resamples
 * where f is not finite are dropped by percentileInterval.
 */
export function sampledEstimate(f: (xs: number[]) => number, inputs: readonly Sampled[], level = 0.95): Estimate {
  if (inputs.length === 0) throw new Error("sampledEstimate: no inputs");
  const B = inputs[0]!.resamples.length;
  inputs.forEach((s, k) => {
    if (s.resamples.length !== B)
      throw new Error(
        `sampledEstimate: input ${k} has ${s.resamples.length} resamples, input 0 has ${B}; they must come from one joint draw`,
      );
  });
  const stats = new Array<number>(B);
  for (let r = 0; r < B; r++) stats[r] = f(inputs.map((s) => s.resamples[r]!));
  return { mean: f(inputs.map((s) => s.point)), ci: percentileInterval(stats, level) };
}

/** The same rule under two arithmetic settings (kernel sets): its verdict when they agree, else not decided. */
export function acrossArithmetic(a: Verdict, b: Verdict): Verdict {
  return a === b ? a : "not decided";
}

/** acrossArithmetic on two rule results, with both figures kept side by side under their labels. */
export function acrossArithmeticResult(a: RuleResult, b: RuleResult, labels: [string, string]): RuleResult {
  return acrossArithmeticResults([
    { label: labels[0], result: a },
    { label: labels[1], result: b },
  ]);
}

/**
 * The same rule under two or more arithmetic settings (a study run and its replicates under other
 * kernel sets): its verdict when all agree, else not decided; every side's figure kept under its label.
 */
export function acrossArithmeticResults(sides: readonly { label: string; result: RuleResult }[]): RuleResult {
  if (sides.length < 2) throw new Error(`acrossArithmeticResults: needs two kernel sets or more, got ${sides.length}`);
  const agree = sides.every((s) => s.result.verdict === sides[0]!.result.verdict);
  return {
    verdict: agree ? sides[0]!.result.verdict : "not decided",
    figure: `${sides.map((s) => `${s.label} ${s.result.verdict} (${s.result.figure})`).join(" | ")}: kernel sets ${agree ? "agree" : "disagree, so not decided"}`,
    parts: {},
  };
}

export interface Gate {
  name: string;
  passed: boolean;
  measured: number;
  threshold: number;
  direction: ">=" | "<=";
  figure: string;
}

/**
 * A pre-registered gate on the SFT model: passed when `measured direction threshold` holds. A
 * measurement that is not a finite number fails (an unmeasured gate gives the experiment no
 * meaning either).
 */
export function gate(name: string, measured: number, threshold: number, direction: ">=" | "<="): Gate {
  if (!Number.isFinite(threshold)) throw new Error(`gate ${name}: threshold must be a finite number, got ${threshold}`);
  if (direction !== ">=" && direction !== "<=")
    throw new Error(`gate ${name}: direction must be ">=" or "<=", got ${String(direction)}`);
  const finite = Number.isFinite(measured);
  const passed = finite && (direction === ">=" ? measured >= threshold : measured <= threshold);
  return {
    name,
    passed,
    measured,
    threshold,
    direction,
    figure: finite
      ? `${name} ${fmt(measured)} (needs ${direction} ${fmt(threshold)}): ${passed ? "passed" : "failed"}`
      : `${name} not measured (needs ${direction} ${fmt(threshold)}): failed`,
  };
}

/**
 * A rule's result under its experiment's gates: unchanged when all passed; otherwise "gate
 * failed", the failed gates named first and the rule's own numbers kept after them, marked as
 * not judged.
 */
export function underGates(gates: readonly Gate[], result: RuleResult): RuleResult {
  const failed = gates.filter((g) => !g.passed);
  if (failed.length === 0) return result;
  return {
    verdict: "gate failed",
    figure: `gate failed: ${failed.map((g) => g.figure).join("; ")} (not judged: ${result.figure})`,
    parts: result.parts,
  };
}
