"""verl custom_reward_function for BCR: scores one packed response through `bcr serve-reward`.

Use in a verl config:
    custom_reward_function.path=integrations/verl/bcr_reward.py
    custom_reward_function.name=compute_score
and start the server first (docs/distributed.md), e.g. `npx bcr serve-reward --port 5000`.
BCR_REWARD_URL points at it (default http://127.0.0.1:5000).

verl calls compute_score(data_source, solution_str, ground_truth, extra_info) per response with
the decoded response alone, so the request uses the server's `responses` field; ground_truth is
the N gold answers (a list, or the JSON list string written by `bcr export verl`). The return
value is a dict: "score" is the reward verl uses, the rest are logged. Plain Python 3, standard
library only. A server error raises (with the server's message): a reward must never be guessed.
"""
import json
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


def compute_score(data_source, solution_str, ground_truth, extra_info=None, url=None, timeout=60.0):
    label = ground_truth if isinstance(ground_truth, str) else json.dumps([str(g) for g in ground_truth])
    prompt = ""
    if isinstance(extra_info, dict):
        prompt = str(extra_info.get("prompt", extra_info.get("index", "")))
    body = {"responses": [solution_str], "prompts": [prompt], "labels": [label]}
    reply = _post(url or os.environ.get("BCR_REWARD_URL", DEFAULT_URL), body, timeout)
    d = reply["details"][0]
    return {"score": reply["rewards"][0], "acc": d["accuracy"], "format": d["format"],
            "response_tokens": d["totalTokens"], "truncated": 1.0 if d["truncated"] else 0.0}
