/**
 * The study's collapse rule. A run collapsed when its final eval accuracy is below the measured
 * guess rate plus an absolute floor (default 0.05): the accuracy a bare guess reaches, plus a few
 * points. A method collapsed when a strict majority of its seeds did.
 *
 * Why an absolute floor: the old rule, "below half of the starting accuracy", could not fire when
 * half the start is already below the guess rate (start 0.406: half is 0.203, under a guess rate
 * of 0.19-0.24), so a run sitting at guessing level counted as stable (rigor.md).
 *
 * lambda*: a linear penalty at lambda >= lambda* (src/rewards/lambda-star.ts) pays a bare guess
 * more than a correct answer, so its collapse is the reward working, classified "reward optimum"
 * and never counted as instability. Below lambda*, or for a method without a length term, a
 * collapse is "collapsed". With lambda* unknown a penalty's collapse stays "collapsed" and the
 * figure says lambda* is unknown (claim 4 then judges nothing: see rules.ts).
 */
import { fmt } from "./verdict.js";

export const DEFAULT_COLLAPSE_FLOOR = 0.05;

export interface RunCollapse {
  collapsed: boolean;
  finalAccuracy: number;
  /** guessRate + floor: the accuracy a run must reach not to count as collapsed. */
  threshold: number;
}

function checkRate(name: string, x: number): void {
  if (!(Number.isFinite(x) && x >= 0 && x <= 1)) throw new Error(`collapse: ${name} must be in [0, 1], got ${x}`);
}

/** One run: collapsed when finalAccuracy < guessRate + floor. */
export function runCollapse(finalAccuracy: number, guessRate: number, floor = DEFAULT_COLLAPSE_FLOOR): RunCollapse {
  checkRate("finalAccuracy", finalAccuracy);
  checkRate("guessRate", guessRate);
  if (!(Number.isFinite(floor) && floor >= 0)) throw new Error(`collapse: floor must be a number >= 0, got ${floor}`);
  const threshold = guessRate + floor;
  return { collapsed: finalAccuracy < threshold, finalAccuracy, threshold };
}

export type CollapseClass = "stable" | "collapsed" | "reward optimum";

export interface MethodCollapseInput {
  method: string;
  /** Final eval accuracy of each seed (each RL run). */
  finalAccuracies: readonly number[];
  guessRate: number;
  floor?: number;
  /** The linear penalty's strength; absent for methods without a length term. */
  lambda?: number | null;
  lambdaStar?: number | null;
}

export interface MethodCollapse {
  method: string;
  collapsed: boolean;
  collapsedSeeds: number;
  seeds: number;
  threshold: number;
  classification: CollapseClass;
  figure: string;
}

/** A method: collapsed when more than half of its seeds collapsed; classified against lambda*. */
export function methodCollapse(input: MethodCollapseInput): MethodCollapse {
  const { method, finalAccuracies, guessRate } = input;
  if (finalAccuracies.length === 0) throw new Error(`methodCollapse (${method}): no seeds`);
  const floor = input.floor ?? DEFAULT_COLLAPSE_FLOOR;
  const runs = finalAccuracies.map((a) => runCollapse(a, guessRate, floor));
  const collapsedSeeds = runs.filter((r) => r.collapsed).length;
  const seeds = runs.length;
  const collapsed = 2 * collapsedSeeds > seeds;
  const lambda = input.lambda ?? null;
  const star = input.lambdaStar ?? null;
  const optimum = collapsed && lambda !== null && star !== null && lambda >= star;
  const classification: CollapseClass = !collapsed ? "stable" : optimum ? "reward optimum" : "collapsed";
  const threshold = guessRate + floor;
  const where =
    lambda === null
      ? ""
      : star === null
        ? ` (lambda ${fmt(lambda)}, lambda* unknown)`
        : ` (lambda ${fmt(lambda)} ${lambda >= star ? ">=" : "<"} lambda* ${fmt(star)})`;
  return {
    method,
    collapsed,
    collapsedSeeds,
    seeds,
    threshold,
    classification,
    figure:
      `${method}${where}: ${collapsedSeeds}/${seeds} seeds below guess ${fmt(guessRate)} + ${fmt(floor)} = ${fmt(threshold)} ` +
      `(final ${finalAccuracies.map(fmt).join(", ")}): ${classification}`,
  };
}
