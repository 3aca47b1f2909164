"""A stand-in for `python3 -m openrlhf.cli.train_ppo_ray` in the tests of
integrations/openrlhf/train_bcr.sh (OpenRLHF itself is not installed here).

It reads the flags the script passes, the exported --prompt_data rows, and asks --remote_rm_url
for rewards the way OpenRLHF's remote reward model does (openrlhf/utils/remote_rm_utils.py:
remote_rm_fn -> request_api_wrapper: POST {"query", "prompts", "labels"} as JSON with
Content-Type application/json, read the "rewards" key, retry on error). query = prompt + response,
as OpenRLHF decodes prompt and response together. For each row it sends a response with every gold
answer and one with the last answer wrong. Prints one JSON line: the flags it got and the rewards.
FAKE_TRAINER_HOLD=S: then waits S seconds (bounded), as a training run would, so a test can signal
the script meanwhile. Standard library only.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request


def request_api_wrapper(url, data, score_key="rewards", try_max_times=5):
    headers = {"Content-Type": "application/json"}
    for _ in range(try_max_times):
        try:
            req = urllib.request.Request(url, data=json.dumps(data).encode("utf-8"), headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=180) as res:
                response = json.loads(res.read().decode("utf-8"))
            assert score_key in response, f"{score_key} not in {response}"
            return response.get(score_key)
        except (urllib.error.URLError, AssertionError) as e:
            print(f"Request error, please check: {e}", file=sys.stderr)
        time.sleep(1)
    raise Exception(f"Request error for {try_max_times} times, returning None. Please check the API server.")


def remote_rm_fn(api_url, queries, prompts=None, labels=None, score_key="rewards"):
    return request_api_wrapper(api_url, {"query": queries, "prompts": prompts, "labels": labels}, score_key)


def flag(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


def response_for(golds):
    return "".join(f"### Problem {k}\nAnswer {k}: \\boxed{{{g}}}\n" for k, g in enumerate(golds, 1))


def main():
    argv = sys.argv[1:]
    url, data = flag(argv, "--remote_rm_url"), flag(argv, "--prompt_data")
    input_key, label_key = flag(argv, "--input_key") or "input", flag(argv, "--label_key") or "label"
    with open(data, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    queries, prompts, labels = [], [], []
    for row in rows:
        golds = json.loads(row[label_key])
        for answers in (golds, golds[:-1] + [golds[-1] + "1"]):
            queries.append(row[input_key] + response_for(answers))
            prompts.append(row[input_key])
            labels.append(row[label_key])
    rewards = remote_rm_fn(url, queries, prompts, labels)
    print(json.dumps({"argv": argv, "rewards": rewards, "n": [len(json.loads(r[label_key])) for r in rows]}), flush=True)
    hold = float(os.environ.get("FAKE_TRAINER_HOLD", "0"))
    if hold > 0:
        print("holding", flush=True)
        time.sleep(min(hold, 60))


if __name__ == "__main__":
    main()
