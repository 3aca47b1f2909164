/**
 * GRPO with Batched Contextual Reinforcement, in the order a step runs. With policy pi_theta,
 * a group of G responses o_1..o_G to each prompt q (sampled from pi_old = pi_theta at sampling
 * time), reward r_i and ratio rho_it = pi_theta(o_it | q, o_i<t) / pi_old(o_it | q, o_i<t):
 *
 *   J(theta) = agg_{i,t} [ min(rho_it A_i, clip(rho_it, 1 - clipLow, 1 + clipHigh) A_i) - beta KL_k3(pi_theta || pi_ref)_it ]
 *   A_i      = (r_i - mean_g r) / (std_g r + eps)                 (group-relative, src/rl/advantages.ts)
 *   r_i      = accuracy_i = (1/N) sum_k 1[answer_k = gold_k]      (single, bcr)
 *            | shaping(accuracy_i, |o_i|)                         (penalty, src/rewards/)
 *
 * with agg the per-sequence, per-token or constant mean of src/rl/loss.ts. The file reads in
 * that order:
 *
 *   1. rollout     P prompts (N problems packed per prompt under bcr, one otherwise) and G
 *                  responses to each from the current policy, under one token budget;
 *   2. reward      each response scored against its N gold answers, shaped for penalty runs;
 *   3. advantages  group-relative, per response, spread over its tokens;
 *   4. loss        the clipped surrogate and its gradients;
 *   5. update      AdamW on the clipped gradient, `epochs` passes over the batch (rlStep);
 *   6. log         one metrics record per step: rewards, lengths, loss, KL, entropy, gradient
 *                  norms (and for shaped rewards the accuracy-term and length-term gradients'
 *                  norms and cosine), advantage statistics, clip fraction, timings (trainRl).
 *
 * Truncated responses stay in the loss by default: under bcr, running out of budget is the
 * signal that teaches brevity. The run folder (config, metrics, checkpoints, resume, summary)
 * is src/run/'s job; this file keeps only the algorithm.
 */
import { tf, initBackend, backendInfo } from "../engine/backend.js";
import type { GPT } from "../model/gpt.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { packProblems, withTargetPerProblem } from "../bcr/templates.js";
import type { PackedPrompt, Problem } from "../bcr/types.js";
import { scoreResponse } from "../bcr/score.js";
import { makeShaping, type RewardShaping } from "../rewards/index.js";
import { generateProblem, generateProblems } from "../tasks/synthetic.js";
import { countLoops } from "../tasks/traces.js";
import { loadProblemsFile } from "../data/problems-file.js";
import { loadLocal } from "../train/load-local.js";
import { RunFolder } from "../run/folder.js";
import { shouldStop, type StopOptions } from "../run/interrupt.js";
import { AdamW, clipByGlobalNorm, lrAt } from "../train/optim.js";
import { loadCheckpoint, restoreCheckpoint } from "../run/checkpoint.js";
import { ensureGradients } from "../train/gradients.js";
import { Rng } from "../util/rng.js";
import { Progress } from "../util/progress.js";
import { advantageStats, groupAdvantages, type GroupAdvantages } from "./advantages.js";
import { contextSize, perProblemCap, promptTargetLength, type RlConfig } from "./config.js";
import { evaluatePolicy, type PolicyEval } from "./evaluate.js";
import { grpoSurrogate, tokenLogProbsAndEntropy, type SurrogateConfig } from "./loss.js";
import { withRealRows } from "../engine/real-rows.js";

export interface RlRunOptions extends StopOptions {
  /** Show a progress bar on stderr (default true). */
  progress?: boolean;
  /** Called with every metrics record as it is written (notebooks draw curves from it; live console lines). */
  onMetrics?: (record: Record<string, number>) => void;
}

export interface RlResult {
  outDir: string;
  step: number;
  finished: boolean;
  finalEval: PolicyEval | null;
}

/** One sampled response and everything the update and the logs need about it. */
export interface Rollout {
  promptIds: number[];
  responseIds: number[];
  /** log pi_old of each response token, recorded at sampling time. */
  oldLogProbs: number[];
  text: string;
  truncated: boolean;
  accuracy: number;
  correct: boolean[];
  tokensPerProblem: number;
  loops: number;
}

type Metrics = Record<string, number>;

/** The first response of a step, kept in samples.jsonl to read what the policy writes. */
export interface StepSample {
  prompt: string;
  response: string;
  golds: string[];
  correct: boolean[];
  truncated: boolean;
}

// ---------------------------------------------------------------------------------------------
// 1. Rollout: prompts and the policy's responses, scored

const problemFiles = new Map<string, Problem[]>();

/**
 * The training problems of `task.trainFile` at the run's levels (read once per process, through
 * the one problem-file reader, so a bad record is reported with its file and line).
 */
function trainPool(config: RlConfig): Problem[] | null {
  const file = config.task.trainFile;
  if (!file) return null;
  let all = problemFiles.get(file);
  if (!all) {
    all = loadProblemsFile(file);
    problemFiles.set(file, all);
  }
  const pool = all.filter((p) => config.task.levels.includes(p.difficulty ?? -1));
  if (pool.length === 0)
    throw new Error(`${file}: no problems at levels ${config.task.levels.join(", ")} (field task.trainFile)`);
  return pool;
}

/** Draw this step's prompts: P contexts of N problems (N = 1 unless bcr). */
export function drawPrompts(config: RlConfig, rng: Rng): PackedPrompt[] {
  const n = contextSize(config, (ns) => rng.pick(ns));
  const pool = trainPool(config);
  const mix = config.task.packMix;
  // Mixed packs (task.packMix): problem k from level set (offset + k) mod sets, then shuffled.
  const pools = mix && pool ? mix.map((levels) => pool.filter((p) => levels.includes(p.difficulty ?? -1))) : null;
  pools?.forEach((p, k) => {
    if (p.length === 0)
      throw new Error(`${config.task.trainFile}: no problems at levels ${mix![k]!.join(", ")} (field task.packMix)`);
  });
  return Array.from({ length: config.sampling.promptsPerStep }, () => {
    let problems: Problem[];
    if (mix) {
      const offset = rng.int(0, mix.length - 1);
      problems = rng.shuffle(
        Array.from({ length: n }, (_, k) => {
          const set = (offset + k) % mix.length;
          return pools ? rng.pick(pools[set]!) : generateProblem(rng, rng.pick(mix[set]!));
        }),
      );
    } else
      problems = Array.from({ length: n }, () =>
        pool ? rng.pick(pool) : generateProblem(rng, rng.pick(config.task.levels)),
      );
    const packed = packProblems(problems, { template: "compact" });
    const target = promptTargetLength(config);
    return target !== undefined ? withTargetPerProblem(packed, target) : packed;
  });
}

/** G responses to each prompt from the current policy, scored against the golds. */
export function sampleRollouts(
  model: GPT,
  tok: CharTokenizer,
  prompts: PackedPrompt[],
  config: RlConfig,
  rng: Rng,
): Rollout[][] {
  const { groupSize: G, budget, temperature, topP } = config.sampling;
  const promptIds = prompts.map((p) => [CharTokenizer.BOS, ...tok.encode(p.text)]);
  const batch = promptIds.flatMap((ids) => Array.from({ length: G }, () => ids));
  const res = model.generate(batch, { maxNewTokens: budget, temperature, topP, stopTokens: [CharTokenizer.EOS], rng });
  return prompts.map((p, i) =>
    Array.from({ length: G }, (_, j) => {
      const s = i * G + j;
      const text = tok.decode(res.tokens[s]!);
      const truncated = !res.stopped[s];
      const cap = perProblemCap(config, p.n);
      const score = scoreResponse(text, p.golds, {
        template: "compact",
        truncated,
        ...(cap !== undefined ? { perProblemCap: cap } : {}),
      });
      return {
        promptIds: promptIds[i]!,
        responseIds: res.tokens[s]!,
        oldLogProbs: res.logProbs[s]!,
        text,
        truncated,
        accuracy: score.accuracy,
        correct: score.correct,
        tokensPerProblem: res.tokens[s]!.length / p.n,
        loops: countLoops(text),
      };
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// 2. Reward shaping

function shapingFor(config: RlConfig): RewardShaping {
  return makeShaping(
    config.kind === "penalty" ? config.shaping.name : "accuracy",
    config.kind === "penalty" ? config.shaping.params : {},
  );
}

// ---------------------------------------------------------------------------------------------
// 3. Advantages, laid out as the update batch

export interface UpdateBatch {
  tokens: tf.Tensor2D;
  mask: tf.Tensor2D;
  oldLogp: tf.Tensor2D;
  adv: { total: tf.Tensor1D; accuracy: tf.Tensor1D; length: tf.Tensor1D };
  refLogp?: tf.Tensor2D;
  responseTokens: number;
  /** Each sequence's real tokens (prompt and response): the rest of its row is padding. */
  lengths: number[];
}

/**
 * Right-padded [S, T] token matrix (BOS prompt response), a mask over the predicted positions
 * that are response tokens, and the sampling-time log-probs aligned with that mask.
 */
export function buildUpdateBatch(
  rollouts: Rollout[],
  advantages: GroupAdvantages[],
  G: number,
  maskTruncated: boolean,
): Omit<UpdateBatch, "refLogp"> {
  const S = rollouts.length;
  const T = Math.max(...rollouts.map((r) => r.promptIds.length + r.responseIds.length));
  const tokens = new Int32Array(S * T);
  const mask = new Float32Array(S * (T - 1));
  const old = new Float32Array(S * (T - 1));
  let responseTokens = 0;
  rollouts.forEach((r, s) => {
    const seq = [...r.promptIds, ...r.responseIds];
    tokens.set(seq, s * T);
    if (maskTruncated && r.truncated) return;
    const start = r.promptIds.length - 1; // position that predicts the first response token
    r.responseIds.forEach((_, j) => {
      mask[s * (T - 1) + start + j] = 1;
      old[s * (T - 1) + start + j] = r.oldLogProbs[j]!;
    });
    responseTokens += r.responseIds.length;
  });
  const pick = (k: "total" | "accuracy" | "length") =>
    tf.tensor1d(
      rollouts.map((_, s) => advantages[Math.floor(s / G)]![k][s % G]!),
      "float32",
    );
  return {
    tokens: tf.tensor2d(tokens, [S, T], "int32"),
    mask: tf.tensor2d(mask, [S, T - 1]),
    oldLogp: tf.tensor2d(old, [S, T - 1]),
    adv: { total: pick("total"), accuracy: pick("accuracy"), length: pick("length") },
    responseTokens,
    lengths: rollouts.map((r) => r.promptIds.length + r.responseIds.length),
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Loss: the clipped surrogate and its gradients

function surrogateConfig(config: RlConfig, klBeta = config.grpo.klBeta): SurrogateConfig {
  const g = config.grpo;
  return {
    clipLow: g.clipLow,
    clipHigh: g.clipHigh,
    klBeta,
    aggregation: g.aggregation,
    budget: config.sampling.budget,
  };
}

/** Gradients of the surrogate under given advantages; side values are read back as numbers. */
export function surrogateGrads(model: GPT, b: UpdateBatch, adv: tf.Tensor1D, cfg: SurrogateConfig) {
  let side: tf.Tensor[] = [];
  // The padding's rows are skipped by the native kernels (src/engine/real-rows.ts): same bits.
  const { value, grads } = withRealRows(b.lengths, b.tokens.shape[1], () =>
    tf.variableGrads(() => {
      const logits = model.logits(b.tokens);
      const { logp, entropy } = tokenLogProbsAndEntropy(logits, b.tokens);
      const parts = grpoSurrogate(logp, b.oldLogp, adv, b.mask, cfg, b.refLogp);
      const meanEntropy = tf.div(tf.sum(tf.mul(entropy, b.mask)), tf.maximum(tf.sum(b.mask), 1));
      side = [tf.keep(parts.clipFrac), tf.keep(parts.kl), tf.keep(parts.approxKlOld), tf.keep(meanEntropy)];
      return parts.loss;
    }, [...model.params.values()]),
  );
  const named = new Map<string, tf.Tensor>();
  for (const [name, v] of model.params) named.set(name, grads[v.name]!);
  const [clipFrac, kl, approxKl, entropy] = side.map((t) => t.dataSync()[0]!);
  tf.dispose(side);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, grads: named, clipFrac: clipFrac!, kl: kl!, approxKl: approxKl!, entropy: entropy! };
}

/** Norms of two gradients and the cosine between them (NaN when either is zero). */
export function gradientGeometry(a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>) {
  const [dot, na, nb] = tf
    .tidy(() => {
      const parts = [...a.keys()].map((k) => [
        tf.sum(tf.mul(a.get(k)!, b.get(k)!)),
        tf.sum(tf.square(a.get(k)!)),
        tf.sum(tf.square(b.get(k)!)),
      ]);
      return [0, 1, 2].map((i) => tf.addN(parts.map((p) => p[i]!)));
    })
    .map((t) => {
      const v = t.dataSync()[0]!;
      t.dispose();
      return v;
    });
  const normA = Math.sqrt(na!),
    normB = Math.sqrt(nb!);
  return { normA, normB, cos: normA > 0 && normB > 0 ? dot! / (normA * normB) : NaN };
}

// ---------------------------------------------------------------------------------------------
// 5. Update: one RL step

/** One RL step: sample, score, advantages, update, diagnostics. Returns the step's metrics. */
export function rlStep(
  config: RlConfig,
  model: GPT,
  ref: GPT | null,
  tok: CharTokenizer,
  optimizer: AdamW,
  shaping: RewardShaping,
  step: number,
  dataRng: Rng,
  sampleRng: Rng,
  logSample: ((step: number, sample: StepSample) => void) | null = null,
): Metrics {
  const t0 = performance.now();
  const G = config.sampling.groupSize;
  const prompts = drawPrompts(config, dataRng);
  const groups = sampleRollouts(model, tok, prompts, config, sampleRng);
  const tSample = performance.now();

  const ctx = {
    maxLength: config.sampling.budget,
    step,
    totalSteps: config.steps,
    targetLength: config.shaping.targetLength,
  };
  const shaped = groups.map((g) =>
    shaping.shape(
      g.map((r) => ({ accuracy: r.accuracy, length: r.responseIds.length, truncated: r.truncated })),
      ctx,
    ),
  );
  const advantages = shaped.map((g) => groupAdvantages(g, config.grpo.advNorm));
  const rollouts = groups.flat();
  const batch: UpdateBatch = buildUpdateBatch(rollouts, advantages, G, config.grpo.maskTruncated);
  if (ref) {
    batch.refLogp = tf.tidy(() => tokenLogProbsAndEntropy(ref.logits(batch.tokens), batch.tokens).logp);
  }

  const m: Metrics = {};
  const lr =
    config.optim.warmupSteps > 0
      ? lrAt(step, {
          lr: config.optim.lr,
          minLr: config.optim.lr,
          warmupSteps: config.optim.warmupSteps,
          decaySteps: config.steps,
          decay: "constant",
        })
      : config.optim.lr;

  // 6. Diagnostics before the update, at ratio = 1 where the surrogate is linear in A:
  //    grad(A) = grad(A_acc) + grad(A_len) exactly (KL term left out of both).
  const hasLengthTerm = config.kind === "penalty" && config.shaping.name !== "accuracy";
  if (hasLengthTerm && config.diagnosticsEvery > 0 && step % config.diagnosticsEvery === 0) {
    const cfg0 = surrogateConfig(config, 0);
    const ga = surrogateGrads(model, batch, batch.adv.accuracy, cfg0);
    const gl = surrogateGrads(model, batch, batch.adv.length, cfg0);
    const geo = gradientGeometry(ga.grads, gl.grads);
    m["grad/norm_acc"] = geo.normA;
    m["grad/norm_len"] = geo.normB;
    if (Number.isFinite(geo.cos)) m["grad/cos_acc_len"] = geo.cos;
    tf.dispose([...ga.grads.values(), ...gl.grads.values()]);
  }

  let last: ReturnType<typeof surrogateGrads> | null = null;
  let gradNorm = 0;
  for (let epoch = 0; epoch < config.grpo.epochs; epoch++) {
    const g = surrogateGrads(model, batch, batch.adv.total, surrogateConfig(config));
    const clipped = clipByGlobalNorm(g.grads, config.optim.gradClip);
    if (epoch === 0) gradNorm = clipped.norm.dataSync()[0]!;
    optimizer.update(clipped.grads, lr);
    tf.dispose([...g.grads.values(), ...clipped.grads.values(), clipped.norm]);
    if (epoch === 0) last = g;
  }
  tf.dispose([
    batch.tokens,
    batch.mask,
    batch.oldLogp,
    batch.adv.total,
    batch.adv.accuracy,
    batch.adv.length,
    ...(batch.refLogp ? [batch.refLogp] : []),
  ]);

  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const flatShaped = shaped.flat();
  const stats = advantageStats(
    advantages,
    groups.map((g) => g.map((r) => r.accuracy === 1)),
  );
  const tEnd = performance.now();
  Object.assign(m, {
    "reward/total": mean(flatShaped.map((r) => r.total)),
    "reward/accuracy": mean(rollouts.map((r) => r.accuracy)),
    "reward/length": mean(flatShaped.map((r) => r.length)),
    "length/mean": mean(rollouts.map((r) => r.responseIds.length)),
    "length/tokens_per_problem": mean(rollouts.map((r) => r.tokensPerProblem)),
    "length/truncation_rate": mean(rollouts.map((r) => (r.truncated ? 1 : 0))),
    "length/loops_per_response": mean(rollouts.map((r) => r.loops)),
    "loss/policy": last!.loss,
    "loss/entropy": last!.entropy,
    "loss/kl": last!.kl,
    "grad/norm": gradNorm,
    "adv/zero_var_frac": stats.zeroVarFrac,
    "adv/neg_correct_frac": stats.negCorrectFrac,
    "adv/abs_mean": stats.absMean,
    "train/clip_frac": last!.clipFrac,
    "train/kl": last!.approxKl,
    "train/lr": lr,
    "perf/sample_s": (tSample - t0) / 1000,
    "perf/update_s": (tEnd - tSample) / 1000,
    "perf/tokens_per_s": batch.responseTokens / ((tEnd - t0) / 1000),
  });
  if (logSample && config.samplesEvery > 0 && step % config.samplesEvery === 0) {
    const r = groups[0]![0]!;
    logSample(step, {
      prompt: prompts[0]!.text,
      response: r.text,
      golds: prompts[0]!.golds,
      correct: r.correct,
      truncated: r.truncated,
    });
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// 6. Log: the run loop (eval, step, metrics, checkpoints, summary)

/** Run (or resume) an RL run in `outDir` (a run folder, src/run/). */
export async function trainRl(config: RlConfig, outDir: string, opts: RlRunOptions = {}): Promise<RlResult> {
  await initBackend();
  ensureGradients();
  const run = new RunFolder(outDir, opts.onMetrics ? { onMetrics: opts.onMetrics } : {});
  run.requireSameConfig(config);
  // Load everything that can fail before the run folder is written: a bad init path or shaping
  // leaves no half-made run behind; so does a bad or empty task.trainFile.
  trainPool(config);
  const { gpt: model, tokenizer: tok } = await loadLocal(config.init);
  const ref = config.grpo.klBeta > 0 ? (await loadLocal(config.init)).gpt : null;
  const shaping = shapingFor(config);
  const optimizer = new AdamW(model.params, {
    beta1: config.optim.beta1,
    beta2: config.optim.beta2,
    eps: config.optim.eps,
    weightDecay: config.optim.weightDecay,
  });
  const release = () => {
    model.dispose();
    ref?.dispose();
    optimizer.dispose();
  };
  const latest = run.latestCheckpoint();
  if (latest && run.hasSummary() && loadCheckpoint(latest).step >= config.steps) {
    // Already finished: nothing to redo, and its metrics (the final eval line too) stay as they are.
    release();
    return { outDir, step: config.steps, finished: true, finalEval: null };
  }
  const evalProblems = generateProblems(config.task.evalSeed, config.task.evalProblems, config.task.levels, "eval");

  // Every random stream, seeded from the config and restored on resume.
  let dataRng = new Rng(config.task.trainSeed * 7919 + config.seed);
  let sampleRng = new Rng(config.seed);
  let step = 0;
  let initialEvalAccuracy: number | null = null;
  // The checkpoint is read, checked and restored before the folder is written: a refused resume
  // (a damaged checkpoint, other shapes) leaves the folder byte-identical.
  const ck = run.loadLatest();
  if (ck) {
    restoreCheckpoint(ck, model, optimizer);
    step = ck.step;
    const rs = ck.rngState as Record<string, number>;
    dataRng = Rng.fromState(rs.data!);
    sampleRng = Rng.fromState(rs.sample!);
    initialEvalAccuracy = (ck.extra.initialEvalAccuracy as number | null) ?? null;
  }
  run.writeHeader(config);
  if (ck) run.resumeFrom(ck);
  else run.startFresh();

  const evalNow = async (atStep: number): Promise<{ metrics: Metrics; result: PolicyEval }> => {
    const e = config.eval;
    // Asked the way the run trains (promptTargetLength).
    const target = promptTargetLength(config);
    const result = await evaluatePolicy(model, tok, evalProblems, {
      n: e.n,
      budget: e.budget,
      temperature: e.temperature,
      samples: e.samples,
      seed: config.task.evalSeed * 1000 + atStep,
      ...(target !== undefined ? { targetLength: target } : {}),
    });
    initialEvalAccuracy ??= result.accuracy;
    const metrics: Metrics = {
      "eval/accuracy": result.accuracy,
      "eval/tokens_per_problem": result.tokensPerProblem,
      "eval/loops_per_response": result.loopsPerResponse,
      "eval/truncation_rate": result.truncationRate,
      "collapse/flag": result.accuracy < 0.5 * initialEvalAccuracy ? 1 : 0,
    };
    return { metrics, result };
  };
  const saveCk = (atStep: number) =>
    run.saveCheckpoint(
      {
        model,
        optimizer,
        step: atStep,
        rngState: { data: dataRng.state, sample: sampleRng.state },
        extra: { initialEvalAccuracy, tokenizerChars: (tok as unknown as { chars?: string }).chars },
      },
      config.keepCheckpoints,
    );
  const logSample = (atStep: number, s: StepSample) => run.logSample({ step: atStep, ...s });

  const progress =
    opts.progress === false ? null : new Progress({ total: config.steps, label: config.name, startStep: step });
  const startedAt = step;
  let lastEval: PolicyEval | null = null;
  while (step < config.steps) {
    if (await shouldStop(opts, step, startedAt)) {
      if (step > startedAt) saveCk(step);
      progress?.done();
      release();
      return { outDir, step, finished: false, finalEval: null };
    }
    const t0 = performance.now();
    const record: Metrics & { step: number } = { step };
    if (step === 0 || (config.eval.every > 0 && step % config.eval.every === 0)) {
      const ev = await evalNow(step);
      Object.assign(record, ev.metrics);
      lastEval = ev.result;
    }
    Object.assign(record, rlStep(config, model, ref, tok, optimizer, shaping, step, dataRng, sampleRng, logSample));
    record["perf/step_s"] = (performance.now() - t0) / 1000;
    run.metrics.append(record);
    step++;
    progress?.tick(1, {
      acc: record["reward/accuracy"]?.toFixed(3),
      len: record["length/mean"]?.toFixed(1),
      ...(record["eval/accuracy"] !== undefined ? { eval: record["eval/accuracy"]!.toFixed(3) } : {}),
    });
    if (step === config.steps || (config.checkpointEvery > 0 && step % config.checkpointEvery === 0)) saveCk(step);
  }
  progress?.done();

  // Final eval of the model after every update: step = steps.
  const final = await evalNow(step);
  lastEval = final.result;
  if (!run.metrics.has(step)) run.metrics.append({ step, ...final.metrics });
  run.writeSummary({
    name: config.name,
    kind: config.kind,
    seed: config.seed,
    steps: step,
    backend: backendInfo()?.name,
    initialEvalAccuracy,
    final: final.metrics,
  });
  release();
  return { outDir, step, finished: true, finalEval: lastEval };
}
