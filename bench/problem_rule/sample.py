"""Draw the posts to judge by hand: rich in candidates, plus a random slice of everything else.

Run once to build the set that ``labels.jsonl`` judges; it is kept so the draw can be repeated
and extended (``--seed``, ``--random``). It never runs the problem rule: the labels were made
blind to its output.

Strata (after dropping exact duplicate title+body pairs, e.g. PRAW's 93 "OAuth Submit" posts):

- ``seed_keyword``: every post with one of the seeds' bare keywords;
- ``request``: every post with a question/request/trouble pattern (how do I, is there a, help, ...);
- ``question``: a random ``--questions`` of the posts whose only candidate sign is a "?";
- ``random``: a random ``--random`` of the rest.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REAL_CORPUS = ROOT.parent / "shared" / "reddit-real" / "submissions.jsonl.gz"
SEED = 20261102

SEED_KEYWORDS = re.compile(r"struggl|problem|frustrat|wish|can'?t|difficult|annoying|pain", re.IGNORECASE)
REQUEST = re.compile(
    r"how\s+(?:do|can|should|would)\s+(?:i|we)\b|is\s+there\s+(?:a|an|any)\b|any\s+way\s+to|\bhelp"
    r"|looking\s+for|recommend|suggestion|advice|anyone\s+know|does\s+anyone|need\s+(?:a|an|some)\b"
    r"|alternative\s+to|stuck|not\s+working|doesn'?t\s+work|won'?t|\bissue|\berror|\bbug|\bfix",
    re.IGNORECASE,
)


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def text_of(post: dict[str, Any]) -> str:
    return f"{post.get('title') or ''}\n{post.get('selftext') or ''}"


def draw(posts: list[dict[str, Any]], seed: int, questions: int, rest: int) -> list[tuple[str, dict[str, Any]]]:
    seen: set[str] = set()
    unique = []
    for post in sorted(posts, key=lambda p: str(p["id"])):
        key = " ".join(text_of(post).lower().split())
        if key not in seen:
            seen.add(key)
            unique.append(post)
    strata: dict[str, list[dict[str, Any]]] = {"seed_keyword": [], "request": [], "question": [], "random": []}
    for post in unique:
        text = text_of(post)
        if SEED_KEYWORDS.search(text):
            strata["seed_keyword"].append(post)
        elif REQUEST.search(text):
            strata["request"].append(post)
        elif "?" in text:
            strata["question"].append(post)
        else:
            strata["random"].append(post)
    rng = random.Random(seed)
    strata["question"] = rng.sample(strata["question"], min(questions, len(strata["question"])))
    strata["random"] = rng.sample(strata["random"], min(rest, len(strata["random"])))
    return [(name, post) for name, group in strata.items() for post in group]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--random", type=int, default=60)
    parser.add_argument("--out", type=Path, required=True, help="where to write the posts to judge (JSON lines)")
    args = parser.parse_args(argv)
    if not REAL_CORPUS.exists():
        print(f"skipped: the real corpus is absent ({REAL_CORPUS})", file=sys.stderr)
        return 0
    sample = draw(load(REAL_CORPUS), args.seed, args.questions, args.random)
    with args.out.open("w", encoding="utf-8") as out:
        for stratum, post in sample:
            row = {
                "id": post["id"],
                "subreddit": post.get("subreddit"),
                "stratum": stratum,
                "title": post.get("title") or "",
                "body": post.get("selftext") or "",
                "url": post.get("url"),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(sample)} posts to judge -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
