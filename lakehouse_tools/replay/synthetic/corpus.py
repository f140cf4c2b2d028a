"""The synthetic corpus itself: a compact skeleton of every post, and the caches that turn it into objects.

Only a skeleton is built up front: one creation time, id and subreddit per post, kept in
``array``s (17 bytes a post) plus the listing indexes the replay server pages through. Every
object is rendered on demand from ``(seed, post index)``, so the same seed always yields the
same objects, and what a post looks like at a virtual ``now`` (score, comments, edits,
deletions, lock) is a pure function of its age: a rerun at the same ``now`` sees the same Reddit.
"""

from __future__ import annotations

import bisect
import math
import random
from array import array
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from itertools import accumulate

from lakehouse_tools.replay.corpus import Corpus, JsonObject, SubredditIndex
from lakehouse_tools.replay.synthetic.authors import AuthorPool
from lakehouse_tools.replay.synthetic.ids import (
    DAY,
    ID_SHAPE,
    POSTS_PER_SECOND_SITEWIDE,
    SALT_INDEX,
    comment_id_at,
    mix,
    post_id_at,
    text_hash,
    to_base36,
)
from lakehouse_tools.replay.synthetic.plans import (
    CommentPlan,
    PostContext,
    PostLabel,
    PostPlan,
    plan_arrivals,
    plan_post,
    plan_thread,
)
from lakehouse_tools.replay.synthetic.profiles import profiles_for
from lakehouse_tools.replay.synthetic.render import render_comment, render_post
from lakehouse_tools.replay.synthetic.vocabulary import topic_for

DEFAULT_END = 1_793_491_200.0  # 2026-11-01T00:00:00Z: fixed, so a corpus never depends on the wall clock


class SyntheticCorpus:
    """A deterministic Reddit for a set of subreddits over ``days`` days ending at ``end``.

    Posts arrive as a Poisson process with a daily and weekly cycle, at realistic relative rates per
    subreddit (``posts=N`` rescales them so exactly N posts exist). Ids are base36 and grow with time,
    as Reddit's do. Objects are rendered when asked for and never stored.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        subreddits: Sequence[str] | None = None,
        days: float = 14.0,
        posts: int | None = None,
        end: float = DEFAULT_END,
    ) -> None:
        if not days > 0 or not math.isfinite(days):
            raise ValueError(f"days must be a positive number, got {days!r}")
        if posts is not None and posts < 0:
            raise ValueError(f"posts must be >= 0, got {posts!r}")
        self.seed = seed
        self.days = days
        self.end = float(end)
        self.start = self.end - days * DAY
        self.profiles = profiles_for(subreddits)
        if len(self.profiles) > 255:
            raise ValueError("at most 255 subreddits")
        self._topics = [topic_for(p.name) for p in self.profiles]
        self._subreddit_ids = [
            "t5_" + to_base36(36**4 + text_hash(p.name.lower()) % (36**5 - 36**4)) for p in self.profiles
        ]

        rng = random.Random(mix(seed, SALT_INDEX))
        total = posts if posts is not None else self._poisson_total(rng)
        times = self._arrival_times(rng, total)
        weights = list(accumulate(p.posts_per_day for p in self.profiles))
        owners = rng.choices(range(len(self.profiles)), cum_weights=weights, k=total)

        # Site-wide counter: the posts of other subreddits take the ids in between. Adding k keeps
        # ids strictly increasing even for posts created in the same second.
        base, start = post_id_at(self.start), self.start
        self._created = array("d", times)
        self._subreddit_of = array("B", owners)
        self._id_ints = array(
            "q", (base + int((t - start) * POSTS_PER_SECOND_SITEWIDE) + k for k, t in enumerate(times))
        )
        created_by: list[list[float]] = [[] for _ in self.profiles]
        ids_by: list[list[str]] = [[] for _ in self.profiles]
        for t, owner, post_id in zip(times, owners, map(to_base36, self._id_ints), strict=True):
            created_by[owner].append(t)
            ids_by[owner].append(post_id)
        self._indexes = {
            p.name.lower(): SubredditIndex.build(p.name, zip(created_by[n], ids_by[n], strict=True))
            for n, p in enumerate(self.profiles)
        }
        self._comment_base = comment_id_at(self.start)
        self._authors = AuthorPool(seed, max(400, total // 3))
        self._plan: Callable[[int], PostPlan] = lru_cache(maxsize=8192)(self._make_plan)
        self._arrivals: Callable[[int], list[float]] = lru_cache(maxsize=16384)(self._make_arrivals)
        self._thread: Callable[[int], list[CommentPlan]] = lru_cache(maxsize=1024)(self._make_thread)

    def plan_all(self) -> None:
        """Plan every post now and keep every plan (~1 KB a post), so requests only render.

        For a server that serves the whole corpus, such as a benchmark's: its answers then cost
        what rendering and JSON cost, not the corpus's generation, which no real Reddit pays.
        """
        self._plan = lru_cache(maxsize=None)(self._make_plan)
        self._arrivals = lru_cache(maxsize=None)(self._make_arrivals)
        for k in range(self.post_count):
            self._arrivals(k)  # plans post k as well

    # -- construction -----------------------------------------------------------------------

    def _poisson_total(self, rng: random.Random) -> int:
        mean = sum(p.posts_per_day for p in self.profiles) * self.days
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))

    @staticmethod
    def _intensity(t: float) -> float:
        """Relative posting rate: peaks at 16:00 UTC (US morning), quieter at weekends."""
        hour = (t % DAY) / 3600.0
        weekday = int(t // DAY + 4) % 7  # 1970-01-01 was a Thursday; 0 is Sunday
        weekend = 0.75 if weekday in (0, 6) else 1.0
        return (1.0 + 0.6 * math.cos(2 * math.pi * (hour - 16.0) / 24.0)) * weekend

    def _arrival_times(self, rng: random.Random, total: int) -> list[float]:
        """``total`` sorted arrival times in whole seconds, drawn from the cyclic intensity.

        Given their number, a Poisson process's arrivals are independent draws from its normalised
        intensity: pick a five-minute cell by weight, then a uniform instant inside it.
        """
        if total == 0:
            return []
        first = math.ceil(self.start)
        last = max(first, math.floor(self.end))
        step = 300
        cells = max(1, math.ceil((last - first) / step))
        starts = [first + i * step for i in range(cells)]
        widths = [max(1, min(step, last + 1 - start)) for start in starts]
        weights = [self._intensity(start + width / 2) * width for start, width in zip(starts, widths, strict=True)]
        chosen = rng.choices(range(cells), cum_weights=list(accumulate(weights)), k=total)
        random_ = rng.random
        times = [float(starts[c] + int(random_() * widths[c])) for c in chosen]
        times.sort()
        return times

    # -- the Corpus protocol ----------------------------------------------------------------

    def subreddits(self) -> list[str]:
        return sorted((p.name for p in self.profiles), key=str.lower)

    def index(self, subreddit: str) -> SubredditIndex | None:
        return self._indexes.get(subreddit.lower())

    def submission(self, post_id: str, now: float) -> JsonObject | None:
        k = self._find(post_id)
        if k is None or self._created[k] > now:
            return None
        num_comments = bisect.bisect_right(self._arrivals(k), now)
        return render_post(self._context(k), self._plan(k), num_comments, now)

    def comments(self, post_id: str, now: float) -> list[JsonObject]:
        k = self._find(post_id)
        if k is None or self._created[k] > now:
            return []
        post, plan = self._context(k), self._plan(k)
        visible = bisect.bisect_right(self._arrivals(k), now)
        thread = self._thread(k)
        return [render_comment(post, plan, thread, j, self._comment_base, now) for j in range(visible)]

    # -- extras for tests and benchmarks ----------------------------------------------------

    @property
    def post_count(self) -> int:
        return len(self._id_ints)

    def post_ids(self) -> Iterator[str]:
        """Every post id, oldest first (ids grow with time)."""
        for number in self._id_ints:
            yield to_base36(number)

    def label(self, post_id: str) -> PostLabel | None:
        """What the post really is, whatever the time: its kind and the PII planted in it."""
        k = self._find(post_id)
        if k is None:
            return None
        plan = self._plan(k)
        name = self.profiles[self._subreddit_of[k]].name
        return PostLabel(kind=plan.kind, is_problem=plan.kind == "problem", pii=plan.pii, subreddit=name)

    def created_utc(self, post_id: str) -> float | None:
        k = self._find(post_id)
        return None if k is None else self._created[k]

    # -- lookups -----------------------------------------------------------------------------

    def _find(self, post_id: str) -> int | None:
        if not isinstance(post_id, str) or not ID_SHAPE.fullmatch(post_id) or post_id[0] == "0":
            return None
        number = int(post_id, 36)
        k = bisect.bisect_left(self._id_ints, number)
        if k < len(self._id_ints) and self._id_ints[k] == number:
            return k
        return None

    def _context(self, k: int) -> PostContext:
        """Post ``k``'s place in the corpus, as planning and rendering take it."""
        owner = self._subreddit_of[k]
        return PostContext(
            seed=self.seed,
            k=k,
            owner=owner,
            post_id=to_base36(self._id_ints[k]),
            created=self._created[k],
            profile=self.profiles[owner],
            topic=self._topics[owner],
            subreddit_id=self._subreddit_ids[owner],
            authors=self._authors,
        )

    # -- planning, cached by the wrappers set up in __init__ ------------------------------------

    def _make_plan(self, k: int) -> PostPlan:
        return plan_post(self._context(k))

    def _make_arrivals(self, k: int) -> list[float]:
        return plan_arrivals(self._context(k), self._plan(k))

    def _make_thread(self, k: int) -> list[CommentPlan]:
        return plan_thread(self._context(k), self._plan(k), self._arrivals(k))


def _conforms(corpus: SyntheticCorpus) -> Corpus:
    """Lets mypy prove that SyntheticCorpus satisfies the Corpus protocol."""
    return corpus
