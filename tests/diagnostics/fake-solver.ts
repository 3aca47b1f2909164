/**
 * A scripted "model" for the probes' tests: it reads the packed prompt and writes, for each
 * problem, a response chosen by `style(position)`: the essential trace (right), a redundant trace
 * with `k` re-checks (right), or a wrong bare answer. The probes' numbers are then known in advance.
 */
import type { Problem } from "../../src/bcr/types.js";
import { LocalModel } from "../../src/model/local-model.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { trace } from "../../src/tasks/traces.js";
import { Rng } from "../../src/util/rng.js";
import { FakeGenerator } from "../eval/fakes.js";

export type Answer = { kind: "essential" } | { kind: "rechecks"; loops: number } | { kind: "wrong" };

export function fakeSolver(
  problems: readonly Problem[],
  answer: (position: number, question: string) => Answer,
  blockSize = 512,
): LocalModel {
  const tok = new CharTokenizer();
  const byQuestion = new Map(problems.map((p) => [p.question, p]));
  const reply = (ids: number[]) => {
    const text = tok.decode(ids.slice(1));
    const [prompt, forced = ""] = text.split("\n");
    const questions = [...prompt!.matchAll(/(\d+):(\S+)/g)].map((m) => m[2]!);
    // With a forced start (`1:<trace> 2:`), write only what follows it.
    const skip = forced ? forced.match(/(\d+):/g)!.length - 1 : 0;
    const parts = questions
      .map((q, k) => {
        const p = byQuestion.get(q)!;
        const a = answer(k + 1, q);
        const body =
          a.kind === "wrong"
            ? `A${Number(p.answer) + 1}`
            : a.kind === "essential"
              ? trace(q, p.answer, "essential", new Rng(0), { position: k })
              : trace(q, p.answer, "redundant", new Rng(0), { position: k, loops: [a.loops, a.loops] });
        return k < skip ? null : `${k === skip && forced ? "" : `${k + 1}:`}${body}`;
      })
      .filter((s) => s !== null);
    return tok.encode(parts.join(" "));
  };
  return new LocalModel({ model: new FakeGenerator(reply, blockSize), tokenizer: tok });
}
