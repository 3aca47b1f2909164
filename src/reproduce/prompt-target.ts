/**
 * An eval adapter: L1 models learned to read a target length in the prompt, so the eval stage
 * asks them the way they were trained.
 */
import { withTargetPerProblem } from "../bcr/templates.js";
import type { CompletionModel } from "../model/completion.js";

/**
 * Models trained with a target length in the prompt (L1) are asked the way they were trained:
 * `L<target * N> ` in front of every prompt (N counted from the `k:` sections).
 */
export function withPromptTarget(model: CompletionModel, perProblem: number): CompletionModel {
  return {
    name: model.name,
    complete: (reqs, opts) =>
      model.complete(
        reqs.map((r) => {
          const n = Math.max(1, (r.prompt.match(/(?:^| )\d+:/g) ?? []).length);
          return {
            ...r,
            prompt: withTargetPerProblem({ text: r.prompt, n, ids: [], golds: [], template: "compact" }, perProblem)
              .text,
          };
        }),
        opts,
      ),
  };
}
