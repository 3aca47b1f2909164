/**
 * The wire format of the reward server: OpenRLHF's remote reward-model protocol.
 *
 * Request (POST /get_reward or POST /):
 *   { "query":   [prompt_0 + response_0, ...],   // what OpenRLHF sends: the decoded sequence
 *     "prompts": [prompt_0, ...],                 // the prompt alone (same length)
 *     "labels":  [label_0, ...] }                 // the gold answers (same length)
 * Extensions (all optional; OpenRLHF never sends them):
 *   "responses": [...]          responses given directly instead of "query" (verl's reward
 *                               functions see the response alone); prompts then only group.
 *   "response_lengths": [...]   exact response token counts (else the server's counter).
 *   "truncated": [...]          booleans: the response hit the generation cap.
 *   "step", "total_steps"       numbers passed to schedule-aware shapings (thinkprune).
 *
 * A label holds the N gold answers of a packed prompt: a real JSON array of strings (or
 * finite numbers), a string holding a JSON array of strings (`"[\"12\",\"7\"]"`), or a plain
 * answer string/number (N=1). Only a JSON array whose elements are ALL strings counts as a
 * list, so a single interval answer such as "[-2,7]" or "[0,1)" stays one answer.
 *
 * Splitting query into prompt and response: if the query starts with the prompt, the rest is
 * the response. Otherwise (a tokenizer round trip can prepend a BOS marker or similar) the
 * response is what follows the FIRST occurrence of the prompt: the prompt comes before the
 * response, so the first occurrence is the real one even when the response repeats the prompt
 * (the last occurrence would cut inside such a response). A query that does not contain its
 * prompt at all is a 400 naming the item.
 */

export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RewardRequestItem {
  /** Groups items for group-aware shapings: items with identical prompts are one group. */
  prompt: string;
  response: string;
  golds: string[];
  /** Exact token count from the client, when it sent `response_lengths`. */
  length?: number;
  /** From the client's `truncated`, when sent. */
  truncated?: boolean;
}

export interface RewardRequest {
  items: RewardRequestItem[];
  step?: number;
  totalSteps?: number;
}

const bad = (message: string) => new RequestError(400, message);

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function goldString(v: unknown, where: string): string {
  if (typeof v === "string") {
    if (v.trim() === "") throw bad(`${where}: empty gold answer`);
    return v;
  }
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw bad(`${where}: a gold answer must be a string or a finite number, got ${typeName(v)}`);
}

/** The gold answers carried by one label (see the header for the accepted forms). */
export function parseLabel(label: unknown, where = "label"): string[] {
  if (Array.isArray(label)) {
    if (label.length === 0) throw bad(`${where}: empty list of gold answers`);
    return label.map((g, k) => goldString(g, `${where}[${k}]`));
  }
  if (typeof label === "string") {
    const t = label.trim();
    // Labels that are JSON gone wrong would otherwise be scored as a literal answer (0) in silence.
    if (t === "null" || t === "undefined") throw bad(`${where}: ${t} is not a gold answer`);
    if (t.startsWith("{") && t.endsWith("}"))
      throw bad(`${where}: a JSON object is not a gold answer: ${t.slice(0, 80)}`);
    if (t.startsWith("[") && !t.endsWith("]") && !t.endsWith(")")) {
      throw bad(`${where}: starts like a JSON list but does not end like one (cut off?): ${t.slice(0, 80)}`);
    }
    if (t.startsWith("[") && t.endsWith("]")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch {
        parsed = undefined; // not JSON: a single answer such as "[0,1)"
      }
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((g) => typeof g === "string")) {
        return parsed.map((g, k) => goldString(g, `${where}[${k}]`));
      }
      if (Array.isArray(parsed) && parsed.length === 0) throw bad(`${where}: empty list of gold answers`);
    }
    return [goldString(label, where)];
  }
  if (typeof label === "number") return [goldString(label, where)];
  throw bad(`${where}: must be a string, a number or an array of gold answers, got ${typeName(label)}`);
}

/** The response part of `query` (see the header for the rule). */
export function splitResponse(query: string, prompt: string, where = "query"): string {
  if (query.startsWith(prompt)) return query.slice(prompt.length);
  const at = prompt === "" ? 0 : query.indexOf(prompt);
  if (at < 0) throw bad(`${where}: does not contain its prompt (prompts[i]); cannot find the response`);
  return query.slice(at + prompt.length);
}

function stringArray(body: Record<string, unknown>, key: string): string[] {
  const v = body[key];
  if (!Array.isArray(v)) throw bad(`"${key}" must be an array of strings, got ${typeName(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== "string") throw bad(`${key}[${i}] must be a string, got ${typeName(v[i])}`);
  }
  return v as string[];
}

function optionalArray(body: Record<string, unknown>, key: string, n: number): unknown[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad(`"${key}" must be an array, got ${typeName(v)}`);
  if (v.length !== n) throw bad(`"${key}" has ${v.length} entries, expected ${n} (one per query)`);
  return v;
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw bad(`"${key}" must be a non-negative number`);
  return v;
}

/** Validate a parsed JSON body; throws RequestError(400) naming the first problem found. */
export function parseRewardRequest(body: unknown): RewardRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw bad(`body must be a JSON object with "query", "prompts" and "labels", got ${typeName(body)}`);
  }
  const b = body as Record<string, unknown>;
  const direct = b.query === undefined && b.responses !== undefined;
  if (!direct && b.query === undefined) throw bad(`missing field "query" (or "responses")`);
  if (b.prompts === undefined) throw bad(`missing field "prompts"`);
  if (b.labels === undefined) throw bad(`missing field "labels"`);
  const texts = stringArray(b, direct ? "responses" : "query");
  const prompts = stringArray(b, "prompts");
  const labels = b.labels;
  if (!Array.isArray(labels)) throw bad(`"labels" must be an array, got ${typeName(labels)}`);
  const n = texts.length;
  if (prompts.length !== n || labels.length !== n) {
    throw bad(
      `array lengths differ: ${direct ? "responses" : "query"} ${n}, prompts ${prompts.length}, labels ${labels.length}`,
    );
  }
  const lengths = optionalArray(b, "response_lengths", n);
  const truncated = optionalArray(b, "truncated", n);
  const items: RewardRequestItem[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const item: RewardRequestItem = {
      prompt: prompts[i]!,
      response: direct ? texts[i]! : splitResponse(texts[i]!, prompts[i]!, `query[${i}]`),
      golds: parseLabel(labels[i], `labels[${i}]`),
    };
    if (lengths) {
      const l = lengths[i];
      if (typeof l !== "number" || !Number.isInteger(l) || l < 0)
        throw bad(`response_lengths[${i}] must be a non-negative integer`);
      item.length = l;
    }
    if (truncated) {
      if (typeof truncated[i] !== "boolean") throw bad(`truncated[${i}] must be a boolean`);
      item.truncated = truncated[i] as boolean;
    }
    items[i] = item;
  }
  const req: RewardRequest = { items };
  const step = optionalNumber(b, "step");
  const totalSteps = optionalNumber(b, "total_steps");
  if (step !== undefined) req.step = step;
  if (totalSteps !== undefined) req.totalSteps = totalSteps;
  return req;
}

/**
 * End-of-sequence markers a decoded query may end with (OpenRLHF decodes with
 * skip_special_tokens=False). A response ending in one stopped on its own: not truncated,
 * and the marker is not counted as response text.
 */
const EOS_TAIL = /(?:<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|<\|end_of_text\|>|<｜end▁of▁sentence｜>|<\/s>)+\s*$/;

export function stripEos(response: string): { text: string; stopped: boolean } {
  const from = Math.max(0, response.length - 256); // markers sit at the very end
  const m = EOS_TAIL.exec(response.slice(from));
  if (!m) return { text: response, stopped: false };
  return { text: response.slice(0, from + m.index), stopped: true };
}
