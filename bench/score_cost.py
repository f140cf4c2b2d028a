"""What scoring costs per 1,000 problem posts for each configured Bedrock model, from tokens counted offline.

    .venv/bin/python bench/score_cost.py [--lake [LABEL=]DIR ...] [--config cdk.json] [--env NAME ...]
                                         [--tokenizer-json PATH] [--json PATH]

For each lake (default: the real corpus ``../shared/reddit-real`` and the synthetic source, each
processed once into ``bench/.out/score-cost/<label>-lake/`` with ``lakehouse run --until process``
when missing) and each environment of ``cdk.json`` (``context.environments.<env>.llm``), the posts
are read exactly as the scoring function reads them (``ScoreStore.problem_posts`` under the
environment's policy, then ``ScoreStore.top_comments``), and every request is rendered as
``BedrockBackend`` sends it. Tokens, per post:

- **input** = the system prompt + the tool definition (``json.dumps`` of the ``toolSpec``, sent with
  every call) + the user message (``Prompt.user_message``: the post with its top comments) + the
  model family's hidden tool-use system prompt: Anthropic documents 313 tokens for Claude 4-family
  models with ``tool_choice`` ``any``/``tool`` (the scorer forces its tool); none is documented for
  Amazon Nova, so 0 there.
- **output** (estimated: there is no model offline) = the answer the heuristic backend gives the same
  post (``HeuristicBackend().assess``), serialised as the tool's input JSON. Its reason and evidence
  are as long as a model's would plausibly be; a real model may write more. The worst case is
  ``max_output_tokens``, and the longest answer the schema allows is printed for reference.

Counted with **Claude's tokenizer as Anthropic last published it**: ``tokenizer.json`` in the
``anthropic`` SDK's wheels up to 0.38.0 (0.39.0 dropped it), loaded with the ``tokenizers`` package.
It is the Claude 2-era vocabulary: Claude 3 and later models use a tokenizer Anthropic has not
published, so counts for Claude Haiku 4.5 are an estimate (cost scales linearly with tokens: a
tokenizer counting 20% more costs 20% more). No tokenizer for Amazon Nova is public: Nova's counts are
the same Claude tokenizer's, an estimate too. The wheel comes from PyPI with ``pip download`` the first
time (checked against its SHA-256), then is cached in ``bench/.out/score-cost/``; ``tokenizers`` must be
installed (``.venv/bin/pip install tokenizers``; not a project requirement).

Cost per 1,000 posts = 1,000 x (mean input x input price + mean output x output price), at the list
prices in ``cdk.json``; with batch inference (where the environment enables it) times
``batch.price_factor``. Worst case = p95 input and ``max_output_tokens``. One call per post: a repair
(a second call with the whole conversation, on demand only) is not counted. The ratio lines compare
every environment with the first one in ``cdk.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.config import load_environments  # noqa: E402
from lakehouse.lake.store import open_store  # noqa: E402
from lambdas.score.assessment import ANSWER_FIELDS, Answer, Budget, PostContext  # noqa: E402
from lambdas.score.batch import model_family  # noqa: E402
from lambdas.score.bedrock import TOOL_CONFIG  # noqa: E402
from lambdas.score.prompt import CHARS_PER_TOKEN, Prompt, truncate  # noqa: E402
from lambdas.score.settings import ScoringPolicy, TokenPrice  # noqa: E402
from lambdas.score.store import ScoreStore  # noqa: E402

OUT = ROOT / "bench" / ".out" / "score-cost"
REAL_CORPUS = ROOT.parent / "shared" / "reddit-real"
DEFAULT_LAKES = {"real": f"replay:{REAL_CORPUS}", "synthetic": "synthetic"}

TOKENIZER_WHEEL = "anthropic==0.38.0"  # the last release shipping tokenizer.json (0.39.0 removed it)
TOKENIZER_MEMBER = "anthropic/tokenizer.json"
TOKENIZER_SHA256 = "c241737df24b4e7f7c9af4fdcee29a0ca903dcb288a8b753bc346a3092911767"
TOKENIZER_NAME = "claude-legacy (anthropic 0.38.0 tokenizer.json)"

HIDDEN_TOOL_PROMPT_TOKENS: Mapping[str, int] = {"anthropic": 313, "nova": 0}
"""The system prompt a provider adds when tools are given, by model family (``tool_choice`` any/tool).

Anthropic's tool-use pricing table: 313 tokens for Claude 4-family models (Opus 4.x, Sonnet 4.x,
Haiku 4.5) with ``any``/``tool``, 346 with ``auto``/``none`` (check against the current page when
the model changes). Amazon documents none for Nova."""

Counter = Callable[[str], int]


# ---------------------------------------------------------------------------- the tokenizer


def claude_tokenizer(path: Path | None = None, *, download: bool = True) -> Counter:
    """Count tokens with Claude's published tokenizer: ``path``, the cached copy, or the wheel from PyPI."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise SystemExit(
            "bench/score_cost.py counts tokens with the `tokenizers` package: .venv/bin/pip install tokenizers"
        ) from None
    source = path or tokenizer_json(download=download)
    tokenizer = Tokenizer.from_file(str(source))

    def count(text: str) -> int:
        return len(tokenizer.encode(text).ids)

    return count


def tokenizer_json(*, download: bool = True, cache: Path = OUT) -> Path:
    """The cached ``tokenizer.json`` of ``anthropic==0.38.0``, fetched with ``pip download`` when absent."""
    target = cache / "claude-tokenizer.json"
    if target.is_file() and _sha256(target.read_bytes()) == TOKENIZER_SHA256:
        return target
    if not download:
        raise FileNotFoundError(f"{target} is missing (run bench/score_cost.py once to fetch it)")
    cache.mkdir(parents=True, exist_ok=True)
    print(f"fetching Claude's tokenizer: pip download {TOKENIZER_WHEEL} --no-deps", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", TOKENIZER_WHEEL, "--no-deps", "--quiet", "-d", scratch],
            check=True,
        )
        (wheel,) = Path(scratch).glob("anthropic-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(TOKENIZER_MEMBER)
    if _sha256(data) != TOKENIZER_SHA256:
        raise SystemExit(f"{TOKENIZER_WHEEL}'s {TOKENIZER_MEMBER} is not the expected file (SHA-256 differs)")
    target.write_bytes(data)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------- one request, counted


def tool_definition() -> str:
    """The tool as the scorer sends it with every call (Converse ``toolSpec``), as JSON."""
    return json.dumps(TOOL_CONFIG["tools"][0]["toolSpec"])


def answer_json(answer: Answer) -> str:
    """An answer as the model writes it: the tool's input, the fields in the schema's order."""
    document: dict[str, Any] = {}
    for spec in ANSWER_FIELDS:
        if spec.name in answer.dimensions:
            document[spec.name] = answer.dimensions[spec.name]
        else:
            value = getattr(answer, spec.name)
            document[spec.name] = list(value) if isinstance(value, tuple) else value
    return json.dumps(document, ensure_ascii=False)


def longest_answer(prose: str) -> str:
    """The longest valid answer: every string and list at its schema limit, cut from ``prose`` at word ends."""
    words = prose.split()
    cursor = 0

    def text(limit: int) -> str:
        nonlocal cursor
        out = ""
        while True:
            word = words[cursor % len(words)]
            if len(out) + len(word) + (1 if out else 0) > limit:
                return out
            out = f"{out} {word}" if out else word
            cursor += 1

    document: dict[str, Any] = {}
    for spec in ANSWER_FIELDS:
        if spec.kind == "boolean":
            document[spec.name] = True
        elif spec.kind == "integer":
            document[spec.name] = 55
        elif spec.kind == "string":
            document[spec.name] = text(spec.maximum or 0)
        else:
            document[spec.name] = [text(spec.item_max or 0) for _ in range(spec.maximum or 0)]
    return json.dumps(document, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class RequestParts:
    """What every call sends whatever the post: the system prompt, the tool and the hidden tool prompt."""

    system: int
    tool: int
    hidden: int

    @property
    def fixed(self) -> int:
        return self.system + self.tool + self.hidden


@dataclass(frozen=True, slots=True)
class PostTokens:
    post_id: str
    input_tokens: int
    output_tokens: int | None  # None: the heuristic gave no answer (a failure) to size the output by
    estimated_input: int  # the scorer's own estimate (characters / 3.5): what its budget reserves
    comments: int


def request_parts(prompt: Prompt, count: Counter, family: str) -> RequestParts:
    return RequestParts(count(prompt.system), count(tool_definition()), HIDDEN_TOOL_PROMPT_TOKENS.get(family, 0))


def measure(
    posts: Sequence[PostContext],
    prompt: Prompt,
    count: Counter,
    parts: RequestParts,
    answers: Mapping[str, Answer | None],
) -> list[PostTokens]:
    """Each post's input tokens as sent, and its estimated output (the heuristic's answer as tool JSON)."""
    tool_chars = len(tool_definition())
    measured: list[PostTokens] = []
    for post in posts:
        answer = answers.get(post.post_id)
        measured.append(
            PostTokens(
                post_id=post.post_id,
                input_tokens=parts.fixed + count(prompt.user_message(post)),
                output_tokens=None if answer is None else count(answer_json(answer)),
                estimated_input=prompt.estimated_input_tokens(post, tool_chars),
                comments=len(post.comments),
            )
        )
    return measured


def full_comments_tokens(prompt: Prompt, count: Counter, policy: ScoringPolicy, prose: str) -> int:
    """What ``top_comments`` comments, each at the ``max_comment_tokens`` cap, add to a post's input."""
    repeats = math.ceil(policy.max_comment_tokens * CHARS_PER_TOKEN / max(1, len(prose))) + 1
    comment = truncate(" ".join([prose] * repeats), policy.max_comment_tokens)  # as top_comments cuts it
    bare = PostContext(post_id="t3_x", content_hash="", subreddit="smallbusiness", title="Title", body="Body")
    full = replace(bare, comments=(comment,) * policy.top_comments)
    return count(prompt.user_message(full)) - count(prompt.user_message(bare))


def heuristic_answers(posts: Sequence[PostContext]) -> dict[str, Answer | None]:
    """The heuristic backend's answer to each post (the stand-in for a model's), None where it failed."""
    from lambdas.score.heuristic import HeuristicBackend

    backend = HeuristicBackend()
    return {post.post_id: backend.assess(post, Budget(1.0)).answer for post in posts}


# ---------------------------------------------------------------------------- cost


def percentile(values: Sequence[int], q: float) -> int:
    """Nearest-rank percentile (``q`` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def usd_per_thousand(price: TokenPrice, input_tokens: float, output_tokens: float, factor: float = 1.0) -> float:
    """What 1,000 calls of that many tokens each cost, USD (``factor`` 0.5 for batch inference)."""
    per_call = input_tokens * price.input_usd_per_million + output_tokens * price.output_usd_per_million
    return per_call * factor * 1_000 / 1_000_000


@dataclass(frozen=True, slots=True)
class CostRow:
    lake: str
    env: str
    model_id: str
    posts: int
    answered: int  # posts whose heuristic answer sized the output
    comments_mean: float
    input_mean: float
    input_p50: int
    input_p95: int
    output_mean: float
    max_output_tokens: int
    usd_on_demand: float
    usd_batch: float | None  # None where the environment does not enable batch inference
    batch_factor: float | None  # the batch price factor where enabled
    usd_worst: float
    estimated_input_mean: float  # the scorer's characters / 3.5 estimate (no hidden tool prompt)
    reservation_usd: float  # mean reservation a post: the estimate and max_output_tokens (on demand)
    budget_usd_per_run: float

    @property
    def usd_as_configured(self) -> float:
        """Batch where the environment enables it (a backlog's price), else on demand."""
        return self.usd_on_demand if self.usd_batch is None else self.usd_batch


def cost_row(lake: str, env: str, policy: ScoringPolicy, tokens: Sequence[PostTokens]) -> CostRow:
    if not tokens:
        raise ValueError(f"{lake}: no problem posts to measure")
    inputs = [t.input_tokens for t in tokens]
    outputs = [t.output_tokens for t in tokens if t.output_tokens is not None]
    input_mean = sum(inputs) / len(inputs)
    output_mean = sum(outputs) / len(outputs) if outputs else float(policy.max_output_tokens)
    estimated_mean = sum(t.estimated_input for t in tokens) / len(tokens)
    price = policy.price
    batch_factor = policy.batch.price_factor if policy.batch.enabled else None
    return CostRow(
        lake=lake,
        env=env,
        model_id=policy.model_id,
        posts=len(tokens),
        answered=len(outputs),
        comments_mean=sum(t.comments for t in tokens) / len(tokens),
        input_mean=input_mean,
        input_p50=percentile(inputs, 0.50),
        input_p95=percentile(inputs, 0.95),
        output_mean=output_mean,
        max_output_tokens=policy.max_output_tokens,
        usd_on_demand=usd_per_thousand(price, input_mean, output_mean),
        usd_batch=usd_per_thousand(price, input_mean, output_mean, batch_factor) if batch_factor else None,
        batch_factor=batch_factor,
        usd_worst=usd_per_thousand(price, percentile(inputs, 0.95), policy.max_output_tokens),
        estimated_input_mean=estimated_mean,
        reservation_usd=usd_per_thousand(price, estimated_mean, policy.max_output_tokens) / 1_000,
        budget_usd_per_run=policy.budget_usd_per_run,
    )


# ---------------------------------------------------------------------------- lakes


@dataclass(frozen=True, slots=True)
class Lake:
    label: str
    path: Path
    source: str | None  # what builds it when missing; None for a lake given on the command line


def parse_lake(text: str) -> Lake:
    label, sep, path = text.partition("=")
    if not sep:
        label, path = Path(text).name, text
    return Lake(label, Path(path), None)


def ensure_built(lake: Lake) -> None:
    """Process the lake's source into it (``lakehouse run --until process``) unless it has a processed zone."""
    if (lake.path / "processed").is_dir():
        return
    if lake.source is None:
        raise SystemExit(f"{lake.path} has no processed zone: run `lakehouse run --lake {lake.path} --until process`")
    if lake.source.startswith("replay:") and not Path(lake.source.removeprefix("replay:")).is_dir():
        raise SystemExit(f"the real corpus {lake.source.removeprefix('replay:')} is absent: pass --lake DIR instead")
    command = [
        str(Path(sys.executable).with_name("lakehouse")),
        "run",
        "--source",
        lake.source,
        "--lake",
        str(lake.path),
        "--until",
        "process",
    ]
    print(f"building {lake.label}: {' '.join(command)} (Spark, a minute or two)", file=sys.stderr)
    lake.path.parent.mkdir(parents=True, exist_ok=True)
    log = lake.path.with_suffix(".log")
    with log.open("w") as sink:
        done = subprocess.run(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=os.environ.copy())
    if done.returncode:
        raise SystemExit(f"building {lake.label} failed (exit {done.returncode}): see {log}")


def read_posts(lake: Path, policy: ScoringPolicy) -> list[PostContext]:
    """The lake's problem posts with their top comments, as ``score_run`` hands them to a backend."""
    store = ScoreStore(open_store(str(lake / "processed")), open_store(str(lake / "analytics")))
    posts = store.problem_posts(policy)
    comments = store.top_comments([post.post_id for post in posts], policy)
    return [replace(post, comments=comments.get(post.post_id, ())) for post in posts]


# ---------------------------------------------------------------------------- report


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}" if value < 10 else f"{value:.2f}"


def table(rows: Sequence[CostRow]) -> str:
    header = (
        "| lake | env | model | problem posts | comments/post | input mean | p50 | p95 | output mean (est.) "
        "| USD/1k on demand | USD/1k batch | USD/1k worst case |"
    )
    lines = [header, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r.lake} | {r.env} | `{r.model_id}` | {r.posts:,} | {r.comments_mean:.1f} | {r.input_mean:,.0f} "
            f"| {r.input_p50:,} | {r.input_p95:,} | {r.output_mean:,.0f} | {_usd(r.usd_on_demand)} "
            f"| {_usd(r.usd_batch)} | {_usd(r.usd_worst)} |"
        )
    return "\n".join(lines)


def ratio_lines(rows: Sequence[CostRow]) -> list[str]:
    lines: list[str] = []
    for lake in dict.fromkeys(r.lake for r in rows):
        of_lake = [r for r in rows if r.lake == lake]
        base = of_lake[0]
        for other in of_lake[1:]:
            parts = [
                f"on demand x{other.usd_on_demand / base.usd_on_demand:.1f}",
                f"as configured x{other.usd_as_configured / base.usd_as_configured:.1f}"
                + (" (batch vs on demand)" if other.usd_batch is not None and base.usd_batch is None else ""),
                f"worst case x{other.usd_worst / base.usd_worst:.1f}",
            ]
            lines.append(f"{lake}: {other.env} / {base.env}: " + ", ".join(parts))
    return lines


def budget_lines(rows: Sequence[CostRow]) -> list[str]:
    """How many posts a run's budget pays for: on demand at the mean cost (reservations settle at what a call
    cost); a batch job counts each post at its reservation (the scorer's estimate and max_output_tokens)."""
    lines: list[str] = []
    for r in rows:
        batch = (
            f"; a batch job counts each post at its reservation x {r.batch_factor:g} "
            f"({r.reservation_usd * r.batch_factor * 1_000:.3f} USD/1k), so a run sends "
            f"{int(r.budget_usd_per_run / (r.reservation_usd * r.batch_factor)):,} posts in one"
            if r.batch_factor
            else ""
        )
        lines.append(
            f"{r.lake} {r.env}: a run's {r.budget_usd_per_run:g} USD scores ~"
            f"{int(r.budget_usd_per_run / (r.usd_on_demand / 1_000)):,} posts on demand{batch}; "
            f"the scorer's input estimate (chars/3.5) is {r.estimated_input_mean / r.input_mean:.2f}x the counted input"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", action="append", default=[], help="[LABEL=]DIR of a processed lake (repeatable)")
    parser.add_argument("--config", type=Path, default=ROOT / "cdk.json", help="the CDK app config (cdk.json)")
    parser.add_argument("--env", action="append", default=[], help="environment(s) to price (default: all)")
    parser.add_argument("--tokenizer-json", type=Path, help="a Claude tokenizer.json (default: fetched and cached)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)

    context = json.loads(args.config.read_text(encoding="utf-8"))["context"]
    environments = load_environments(context)
    names = args.env or list(environments)
    unknown = sorted(set(names) - set(environments))
    if unknown:
        parser.error(f"unknown environment(s) {', '.join(unknown)}; cdk.json has {', '.join(environments)}")
    lakes = [parse_lake(text) for text in args.lake] or [
        Lake(label, OUT / f"{label}-lake", source) for label, source in DEFAULT_LAKES.items()
    ]
    for lake in lakes:
        ensure_built(lake)

    count = claude_tokenizer(args.tokenizer_json)
    prompt = Prompt.load()
    started = time.perf_counter()
    rows: list[CostRow] = []
    notes: list[str] = []
    for lake in lakes:
        for name in names:
            policy = environments[name].llm.policy
            family = model_family(policy.model_id)
            posts = read_posts(lake.path, policy)
            if not posts:
                raise SystemExit(f"{lake.label}: {lake.path} has no processed problem posts")
            parts = request_parts(prompt, count, family)
            tokens = measure(posts, prompt, count, parts, heuristic_answers(posts))
            rows.append(cost_row(lake.label, name, policy, tokens))
            if lake is lakes[0]:
                notes.append(
                    f"{name} ({family}): every call sends system prompt {parts.system} + tool definition "
                    f"{parts.tool} + hidden tool prompt {parts.hidden} = {parts.fixed} tokens before the post; "
                    f"{policy.top_comments} comments at the {policy.max_comment_tokens}-token cap would add "
                    f"{full_comments_tokens(prompt, count, policy, prompt.system)} tokens to a post"
                )
    longest = count(longest_answer(prompt.system))
    elapsed = time.perf_counter() - started

    from lambdas.score.heuristic import HEURISTIC_VERSION

    print(
        f"prompt {prompt.version}; output sized by heuristic {HEURISTIC_VERSION}; "
        f"tokenizer {TOKENIZER_NAME} for every model (an estimate: see the docstring)"
    )
    print()
    print(table(rows))
    print()
    for line in [*ratio_lines(rows), *notes, *budget_lines(rows)]:
        print(line)
    print(
        f"output: the heuristic backend's answer as tool JSON (posts it answered: "
        f"{', '.join(f'{r.lake} {r.answered}/{r.posts}' for r in rows[:: len(names)])}); "
        f"the longest answer the schema allows is {longest} tokens; worst case = p95 input + max_output_tokens"
    )
    print(f"counted {sum(r.posts for r in rows):,} requests in {elapsed:.1f} s")
    if args.json:
        document = {
            "prompt_version": prompt.version,
            "heuristic_version": HEURISTIC_VERSION,
            "tokenizer": TOKENIZER_NAME,
            "hidden_tool_prompt_tokens": dict(HIDDEN_TOOL_PROMPT_TOKENS),
            "longest_valid_answer_tokens": longest,
            "rows": [asdict(r) for r in rows],
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
