/**
 * lambda*: the linear penalty's strength above which a bare guess out-scores a correct answer.
 *
 * The linear shaping (linear.ts) pays r = acc - lambda * len / maxLength. A policy that writes
 * its correct trace (accuracy a_c, length L_c) expects a_c - lambda * L_c / B; one that writes a
 * bare guess (accuracy a_g, length L_g) expects a_g - lambda * L_g / B, with B = maxLength, the
 * run's response budget. The guess wins when lambda * (L_c - L_g) / B > a_c - a_g, so
 *
 *     lambda* = B * (a_c - a_g) / (L_c - L_g).
 *
 * Above lambda* a collapse to guessing is the reward's optimum, not an instability (rigor.md:
 * lambda = 5, B = 128, a correct 29.6-token answer scores 1 - 5 * 29.6 / 128 = -0.16, a guess
 * 0.11 - 5 * 5 / 128 = -0.09). Edge cases, decided: a guess no shorter than the trace never wins
 * on length (Infinity); a guess at least as accurate as the trace wins at any lambda > 0 (0).
 */
export interface AnswerForm {
  /** Expected accuracy of the form in [0, 1] (1 for an answer known to be correct). */
  accuracy: number;
  /** Tokens it takes, counted as the reward counts response length. */
  tokens: number;
}

export function lambdaStar(correct: AnswerForm, guess: AnswerForm, budget: number): number {
  for (const [name, f] of [
    ["correct", correct],
    ["guess", guess],
  ] as const) {
    if (!(f.accuracy >= 0 && f.accuracy <= 1))
      throw new Error(`lambdaStar: ${name}.accuracy must be in [0, 1], got ${f.accuracy}`);
    if (!(f.tokens >= 0 && Number.isFinite(f.tokens)))
      throw new Error(`lambdaStar: ${name}.tokens must be a finite number >= 0, got ${f.tokens}`);
  }
  if (!(budget > 0 && Number.isFinite(budget)))
    throw new Error(`lambdaStar: budget must be a positive number, got ${budget}`);
  const gain = correct.accuracy - guess.accuracy;
  if (gain <= 0) return 0;
  const saved = correct.tokens - guess.tokens;
  if (saved <= 0) return Infinity;
  return (budget * gain) / saved;
}
