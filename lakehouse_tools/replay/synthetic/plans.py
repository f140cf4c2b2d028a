"""Plans: everything about a post or its comments that does not depend on ``now``, drawn from the seed.

A plan fixes what an object is and what will happen to it (its final score, when it gets edited,
deleted or locked); rendering then reads off what of that has happened by a given ``now``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import NamedTuple

from lakehouse_tools.replay.synthetic.authors import AuthorPool
from lakehouse_tools.replay.synthetic.ids import DAY, SALT_ARRIVALS, SALT_POST, SALT_THREAD, mix, to_base36
from lakehouse_tools.replay.synthetic.profiles import SubredditProfile
from lakehouse_tools.replay.synthetic.vocabulary import POSTS, Topic
from lakehouse_tools.replay.synthetic.writing import decorate_post, link, write_post

MAX_COMMENTS_PER_POST = 500
NEVER = math.inf

_DELETION_SHARE_POSTS = 0.03
_EDIT_SHARE_POSTS = 0.09
_LOCK_SHARE_POSTS = 0.01
_DECOY_SHARE = 0.07
_MOD_THREAD_SHARE = 0.002


@dataclass(frozen=True, slots=True)
class PostLabel:
    """Ground truth for a synthetic post, for measuring the pipeline's filters and scrubbers."""

    kind: str  # problem, decoy, showcase, discussion, milestone, news, question, mod
    is_problem: bool
    pii: tuple[str, ...]  # the personal data planted in the title or body, verbatim
    subreddit: str


class PostContext(NamedTuple):
    """Where post ``k`` lives and who it is: what planning and rendering need beside its plan."""

    seed: int
    k: int
    owner: int  # index of its subreddit in the corpus's profiles
    post_id: str
    created: float
    profile: SubredditProfile
    topic: Topic
    subreddit_id: str
    authors: AuthorPool


class PostPlan(NamedTuple):
    """A post as it will be: its words, and when (``NEVER`` if ever) it is edited, deleted or locked."""

    kind: str
    title: str
    body: str
    url: str | None  # None for a self post
    domain: str
    post_hint: str | None
    flair: int  # index into the profile's flairs, -1 for none
    author: int  # index into the author pool, -1 for AutoModerator
    over_18: bool
    spoiler: bool
    stickied: bool
    final_score: int
    score_tau: float
    upvote_ratio: float
    final_comments: int
    edit_at: float
    edit_note: str
    fate: str | None  # "deleted" (by its author) or "removed" (by a moderator)
    fate_at: float
    lock_at: float
    num_crossposts: int
    pii: tuple[str, ...]


class CommentPlan(NamedTuple):
    """A comment's place in its thread and its fate; its words are written only when it is rendered."""

    created: float
    parent: int  # index of the parent comment, -1 for a top-level comment
    depth: int
    author: int  # -1 for AutoModerator
    final_score: int
    score_tau: float
    fate: str | None
    fate_at: float
    edit_at: float
    controversial: bool


def plan_post(post: PostContext) -> PostPlan:
    """What the post is, what it says and how it will fare."""
    rng = random.Random(mix(post.seed, SALT_POST, post.k))
    profile, topic, created = post.profile, post.topic, post.created
    pii: list[str] = []

    roll = rng.random()
    if roll < _MOD_THREAD_SHARE and not profile.titles_only:
        kind = "mod"
    elif roll < _MOD_THREAD_SHARE + profile.problem_share:
        kind = "problem"
    elif roll < _MOD_THREAD_SHARE + profile.problem_share + _DECOY_SHARE:
        kind = "decoy"
    elif profile.titles_only:
        kind = "question"
    else:
        kind = rng.choices(("showcase", "discussion", "milestone", "news", "question"), (3, 3, 1, 2, 3))[0]

    title, body = write_post(rng, kind, profile, topic, pii, post.authors)

    url: str | None = None
    domain = f"self.{profile.name}"
    post_hint: str | None = None
    link_chance = max(profile.link_share, 0.5) if kind == "news" else profile.link_share
    if kind in ("showcase", "news", "milestone") and rng.random() < link_chance:
        url, domain, post_hint = link(rng, title, topic)
        body = ""
        pii.clear()  # the body that held them is gone
    elif kind == "discussion" and rng.random() < profile.link_share * 0.3:
        image = f"{to_base36(mix(post.seed, post.k, 7))[:13]}"
        url, domain, post_hint = f"https://i.redd.it/{image}.jpeg", "i.redd.it", "image"
        body = ""

    title, body = decorate_post(rng, title, body, pii, post.authors)

    mod = kind == "mod"
    z = rng.gauss(0.0, 1.0)
    final_score = 1 if mod else max(1, min(150_000, round(profile.median_score * math.exp(profile.score_spread * z))))
    engagement = 1.4 if kind == "problem" else 1.0
    final_comments = round(engagement * profile.median_comments * math.exp(0.9 * z + 0.5 * rng.gauss(0.0, 1.0)))
    if rng.random() < 0.12:
        final_comments = 0
    final_comments = min(MAX_COMMENTS_PER_POST, max(0, final_comments))
    ratio = round(min(1.0, max(0.5, 0.93 + 0.03 * z - abs(rng.gauss(0.0, 0.08)))), 2)

    edit_at = NEVER
    edit_note = ""
    if body and rng.random() < _EDIT_SHARE_POSTS:
        edit_at = float(int(created + 60 + min(3 * DAY, rng.expovariate(1 / 7200))))
        edit_note = rng.choice(POSTS.edit_notes).format(tool=rng.choice(topic.tools))
    fate: str | None = None
    fate_at = NEVER
    fate_roll = rng.random()
    if not mod and fate_roll < _DELETION_SHARE_POSTS:
        fate = "deleted"
    elif not mod and fate_roll < _DELETION_SHARE_POSTS + profile.removal_share:
        fate = "removed"
    if fate is not None:
        fate_at = float(int(created + 300 + rng.expovariate(1 / (6 * 3600))))
    lock_at = float(int(created + 3600 + rng.expovariate(1 / DAY))) if rng.random() < _LOCK_SHARE_POSTS else NEVER

    return PostPlan(
        kind=kind,
        title=title,
        body=body,
        url=url,
        domain=domain,
        post_hint=post_hint,
        flair=rng.randrange(len(profile.flairs)) if profile.flairs and rng.random() < 0.7 else -1,
        author=-1 if mod else post.authors.pick(rng),
        over_18=rng.random() < 0.004,
        spoiler=rng.random() < 0.003,
        stickied=mod,
        final_score=final_score,
        score_tau=3600.0 * rng.uniform(2.0, 10.0),
        upvote_ratio=ratio,
        final_comments=final_comments,
        edit_at=edit_at,
        edit_note=edit_note,
        fate=fate,
        fate_at=fate_at,
        lock_at=lock_at,
        num_crossposts=rng.randint(0, 3) if final_score > 200 else 0,
        pii=tuple(pii),
    )


def has_automod_comment(profile: SubredditProfile, plan: PostPlan) -> bool:
    """Whether AutoModerator comments first on the post (never on the moderators' own threads)."""
    return profile.automod_comment is not None and plan.kind != "mod"


def plan_arrivals(post: PostContext, plan: PostPlan) -> list[float]:
    """When each comment of the post arrives: whole seconds, strictly increasing, after the post.

    Kept apart from the rest of the thread because every listing needs ``num_comments``, which is
    just how many of these times have passed.
    """
    rng = random.Random(mix(post.seed, SALT_ARRIVALS, post.k))
    created = post.created
    fast, slow = 3600.0 * rng.uniform(1.0, 4.0), DAY * rng.uniform(0.5, 2.0)
    arrivals = sorted(
        created + 20.0 + rng.expovariate(1.0 / (fast if rng.random() < 0.85 else slow))
        for _ in range(plan.final_comments)
    )
    arrivals = [t for t in arrivals if t < plan.lock_at]  # a locked thread takes no new comments
    if has_automod_comment(post.profile, plan):
        arrivals = [created + rng.randint(2, 6), *arrivals][:MAX_COMMENTS_PER_POST]
    times: list[float] = []
    previous = int(created)
    for arrival in arrivals:
        previous = max(int(arrival), previous + 1)
        times.append(float(previous))
    return times


def plan_thread(post: PostContext, plan: PostPlan, times: list[float]) -> list[CommentPlan]:
    """Whom each comment answers, who wrote it and how it will fare; its words come at rendering."""
    rng = random.Random(mix(post.seed, SALT_THREAD, post.k))
    first = 1 if has_automod_comment(post.profile, plan) else 0
    comments: list[CommentPlan] = []
    for j, t in enumerate(times):
        if j < first:
            comments.append(CommentPlan(t, -1, 0, -1, 1, 1.0, None, NEVER, NEVER, False))
            continue
        parent = -1
        if j > first and rng.random() < (0.4 if j < 3 else 0.55):
            recent = rng.random() < 0.5  # half the replies answer one of the last few comments, half any
            parent = max(first, j - 1 - int(rng.expovariate(0.4))) if recent else rng.randrange(first, j)
            if comments[parent].depth >= 8:
                parent = -1
        depth = 0 if parent < 0 else comments[parent].depth + 1
        # OP answers some replies in their own thread.
        author = plan.author if parent >= 0 and rng.random() < 0.2 else post.authors.pick(rng)
        score = max(1, round(math.exp(rng.gauss(0.0, 0.9)) * (1 + plan.final_score**0.5) / (1 + 0.1 * j)))
        fate_roll = rng.random()
        fate = "deleted" if fate_roll < 0.04 else "removed" if fate_roll < 0.06 else None
        fate_at = float(int(t + 60 + rng.expovariate(1 / (8 * 3600)))) if fate else NEVER
        edit_at = float(int(t + 30 + rng.expovariate(1 / 1800))) if rng.random() < 0.05 else NEVER
        tau = 3600.0 * rng.uniform(1.0, 6.0)
        controversial = rng.random() < 0.03
        comments.append(CommentPlan(t, parent, depth, author, score, tau, fate, fate_at, edit_at, controversial))
    return comments
