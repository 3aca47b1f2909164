"""verl custom_reward_function for BCR: scores one packed response through `bcr serve-reward`.

Use in a verl config:
    custom_reward_function.path=integrations/verl/bcr_reward.py
    custom_reward_function.name=compute_score
and start the server first (docs/distributed.md), e.g. `npx bcr serve-reward --port 5000`.
BCR_REWARD_URL points at it (default http://127.0.0.1:5000).

verl calls compute_score(data_source, solution_str, ground_truth, extra_info) per response with
the decoded response alone, so the request uses the server's `responses` field. ground_truth is
the N gold answers: the JSON list string written by `bcr export verl`, a list (or numpy array) of
strings or numbers, or one answer (N=1) as a string or a number: 42, 42.0 and "42" all mean 42.

Truncation: verl's reward managers do not tell the reward function whether the response hit
data.max_response_length (extra_info carries the dataset's own extra_info plus num_turns and
rollout_reward_scores), and the response reaches us decoded with skip_special_tokens=True, so
the server cannot see an end-of-sequence marker either. Set extra_info["truncated"] (a bool) in
the reward manager, e.g. valid_response_length >= response_length, and it is sent as the
server's `truncated` flag (a cut-off last answer does not count). Absent or None, the server
decides from its token count (`serve-reward --max-length`).

The return value is a dict: "score" is the reward verl uses, the rest are logged. Plain Python
3, standard library only. A server error raises (with the server's message): a reward must
never be guessed. A ground_truth of another type raises TypeError naming it.
"""
import json
import math
import numbers
import os
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:5000"


def _post(url, body, timeout):
    req = urllib.request.Request(url.rstrip("/") + "/get_reward", data=json.dumps(body).encode("utf-8"),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return json.loads(res.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"bcr reward server answered {e.code}: {e.read().decode('utf-8', 'replace')}") from None


def _gold(g, where="ground_truth"):
    """One gold answer as a JSON value: a string as is, a number as a number (numpy's too)."""
    if isinstance(g, bytes):
        g = g.decode("utf-8")
    if isinstance(g, str):
        return g
    if isinstance(g, bool) or not isinstance(g, numbers.Real):
        raise TypeError(f"{where}: a gold answer must be a string or a number, got {type(g).__name__}")
    if isinstance(g, numbers.Integral):
        return int(g)
    if not math.isfinite(float(g)):
        raise TypeError(f"{where}: a gold answer must be finite, got {g!r}")
    return float(g)


def _label(ground_truth):
    """The server's label for ground_truth: one answer (string or number) or a list of them."""
    if isinstance(ground_truth, (str, bytes, numbers.Number)):
        return _gold(ground_truth)
    if hasattr(ground_truth, "tolist"):  # a numpy array (a list column read back from Parquet)
        ground_truth = ground_truth.tolist()
    if isinstance(ground_truth, (list, tuple)):
        return [_gold(g, f"ground_truth[{k}]") for k, g in enumerate(ground_truth)]
    raise TypeError(
        f"ground_truth: expected a string, a number or a list of them, got {type(ground_truth).__name__}")


def _flag(v, where):
    """A truncation flag: a bool (numpy's too), 0 or 1, or "true"/"false"; anything else raises."""
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    if hasattr(v, "item") and not isinstance(v, (list, tuple)):  # a numpy scalar
        v = v.item()
    if isinstance(v, bool) or v in (0, 1):
        return bool(v)
    raise TypeError(f"{where}: expected a bool, got {v!r}")


def compute_score(data_source, solution_str, ground_truth, extra_info=None, url=None, timeout=60.0, **_):
    # **_: newer verl passes reward-model keywords (reward_router_address, ...) this function does not use.
    label = _label(ground_truth)
    prompt = ""
    truncated = None
    if isinstance(extra_info, dict):
        prompt = str(extra_info.get("prompt", extra_info.get("index", "")))
        truncated = extra_info.get("truncated")
    body = {"responses": [solution_str], "prompts": [prompt], "labels": [label]}
    if truncated is not None:
        body["truncated"] = [_flag(truncated, 'extra_info["truncated"]')]
    reply = _post(url or os.environ.get("BCR_REWARD_URL", DEFAULT_URL), body, timeout)
    d = reply["details"][0]
    return {"score": reply["rewards"][0], "acc": d["accuracy"], "format": d["format"],
            "response_tokens": d["totalTokens"], "truncated": 1.0 if d["truncated"] else 0.0}
