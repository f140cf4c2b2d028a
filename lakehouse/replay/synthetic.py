"""A synthetic Reddit: deterministic, realistic, and cheap enough to serve a million posts.

Only a skeleton is built up front: one creation time, id and subreddit per post, kept in
``array``s (17 bytes a post) plus the listing indexes the replay server pages through. Every
object is rendered on demand from ``(seed, post index)``, so the same seed always yields the
same objects, and what a post looks like at a virtual ``now`` (score, comments, edits,
deletions, lock) is a pure function of its age: a rerun at the same ``now`` sees the same Reddit.
"""

from __future__ import annotations

import bisect
import html
import math
import random
import re
import unicodedata
import uuid
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from itertools import accumulate
from typing import NamedTuple

from lakehouse.replay.corpus import Corpus, JsonObject, SubredditIndex

DEFAULT_END = 1_793_491_200.0  # 2026-11-01T00:00:00Z: fixed, so a corpus never depends on the wall clock
DAY = 86_400.0

# Reddit ids are base36 counters shared by the whole site. Anchored on real objects of 2025-2026
# (t3_1skh9xm at 1776080568 and t1_optfyql at 1780620715), extrapolated at the site's measured pace.
_POST_ID_ANCHOR = (1_776_080_568.0, 3_903_816_257)
_POSTS_PER_SECOND_SITEWIDE = 18.0
_COMMENT_ID_ANCHOR = (1_780_620_715.0, 53_803_884_189)
_COMMENTS_PER_SECOND_SITEWIDE = 124.0
_COMMENT_SLOTS_PER_POST = 512  # comment id = base + post index * slots + comment index: unique by construction
MAX_COMMENTS_PER_POST = 500

_SALT_INDEX = 0x1D
_SALT_POST = 0x5B
_SALT_ARRIVALS = 0xC0
_SALT_THREAD = 0xC2
_SALT_COMMENT = 0xC1
_SALT_AUTHOR = 0xA7
_MASK64 = (1 << 64) - 1
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_TRIPLES36 = [a + b + c for a in _BASE36 for b in _BASE36 for c in _BASE36]
_36_3, _36_6, _36_9 = 36**3, 36**6, 36**9
_ID_SHAPE = re.compile(r"[0-9a-z]{1,13}")

AUTOMODERATOR = "AutoModerator"
_AUTOMODERATOR_FULLNAME = "t2_6l4z3"
_DELETED = "[deleted]"
_REMOVED = "[removed]"


def _lines(text: str) -> tuple[str, ...]:
    """One item per non-blank line: keeps the word lists below readable and diff-friendly."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 rounds): stable across runs and PYTHONHASHSEED."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = ((h ^ (part & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        h ^= h >> 31
        h = (h * 0x94D049BB133111EB) & _MASK64
        h ^= h >> 29
    return h


def _text_hash(text: str) -> int:
    return int.from_bytes(blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def to_base36(number: int) -> str:
    """Reddit's id spelling: lowercase base36 without leading zeros."""
    if 0 < number < _36_9:  # every id of this century: three table lookups, fast enough for a million
        high, rest = divmod(number, _36_6)
        middle, low = divmod(rest, _36_3)
        return (_TRIPLES36[high] + _TRIPLES36[middle] + _TRIPLES36[low]).lstrip("0")
    if number <= 0:
        return "0"
    digits = []
    while number:
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


def _post_id_at(t: float) -> int:
    anchor_t, anchor_id = _POST_ID_ANCHOR
    return max(36**5, int(anchor_id + (t - anchor_t) * _POSTS_PER_SECOND_SITEWIDE))


def _comment_id_at(t: float) -> int:
    anchor_t, anchor_id = _COMMENT_ID_ANCHOR
    return max(36**6, int(anchor_id + (t - anchor_t) * _COMMENTS_PER_SECOND_SITEWIDE))


# ---------------------------------------------------------------------------------------------
# Subreddits and what their people talk about
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubredditProfile:
    """How busy a subreddit is and how its posts behave; rates are posts per day."""

    name: str
    posts_per_day: float
    subscribers: int
    problem_share: float
    link_share: float
    median_score: float
    score_spread: float
    median_comments: float
    flairs: tuple[str, ...] = ()
    titles_only: bool = False
    removal_share: float = 0.04
    automod_comment: str | None = None
    suggested_sort: str | None = None


# Relative rates follow the real subreddits (AskReddit dwarfs the niche ones); absolute rates are scaled
# down so the default corpus (about 38k posts over 14 days) builds in well under a second.
DEFAULT_PROFILES: tuple[SubredditProfile, ...] = (
    SubredditProfile(
        "AskReddit",
        posts_per_day=1800,
        subscribers=57_400_000,
        problem_share=0.14,
        link_share=0.0,
        median_score=3,
        score_spread=2.0,
        median_comments=6,
        titles_only=True,
        removal_share=0.07,
        suggested_sort="confidence",
    ),
    SubredditProfile(
        "Entrepreneur",
        posts_per_day=220,
        subscribers=4_900_000,
        problem_share=0.28,
        link_share=0.12,
        median_score=4,
        score_spread=1.3,
        median_comments=8,
        flairs=("Question?", "Lessons Learned", "Best Practices", "Recommendations?", "Starting a Business"),
    ),
    SubredditProfile(
        "smallbusiness",
        posts_per_day=160,
        subscribers=2_300_000,
        problem_share=0.32,
        link_share=0.04,
        median_score=3,
        score_spread=1.1,
        median_comments=9,
        flairs=("Question", "Help", "General", "Marketing", "Software"),
    ),
    SubredditProfile(
        "startups",
        posts_per_day=140,
        subscribers=1_900_000,
        problem_share=0.27,
        link_share=0.08,
        median_score=3,
        score_spread=1.2,
        median_comments=7,
        flairs=("I will not promote",),
        automod_comment="startups",
    ),
    SubredditProfile(
        "webdev",
        posts_per_day=130,
        subscribers=3_100_000,
        problem_share=0.25,
        link_share=0.3,
        median_score=4,
        score_spread=1.4,
        median_comments=9,
        flairs=("Question", "Discussion", "Showoff Saturday", "Resource", "News"),
    ),
    SubredditProfile(
        "SaaS",
        posts_per_day=110,
        subscribers=420_000,
        problem_share=0.26,
        link_share=0.1,
        median_score=3,
        score_spread=1.1,
        median_comments=6,
        flairs=("B2B SaaS", "B2C SaaS", "Build In Public"),
    ),
    SubredditProfile(
        "Python",
        posts_per_day=90,
        subscribers=1_450_000,
        problem_share=0.22,
        link_share=0.35,
        median_score=6,
        score_spread=1.5,
        median_comments=10,
        flairs=("Discussion", "Showcase", "Resource", "News", "Tutorial", "Help"),
    ),
    SubredditProfile(
        "dataengineering",
        posts_per_day=45,
        subscribers=310_000,
        problem_share=0.3,
        link_share=0.2,
        median_score=8,
        score_spread=1.2,
        median_comments=12,
        flairs=("Discussion", "Help", "Career", "Blog", "Open Source", "Meme"),
    ),
)


def _generic_profile(name: str) -> SubredditProfile:
    return SubredditProfile(name, 40, 120_000, 0.25, 0.2, 3, 1.2, 6, ("Discussion", "Question"))


@dataclass(frozen=True, slots=True)
class _Topic:
    roles: tuple[str, ...]  # who is asking, one sentence
    tasks: tuple[str, ...]  # gerund phrases people struggle with
    tools: tuple[str, ...]
    builds: tuple[str, ...]  # things people show off
    questions: tuple[str, ...]  # discussion titles that are not problems
    author_flairs: tuple[str, ...] = ()
    link_domains: tuple[str, ...] = ("medium.com", "dev.to", "github.com", "youtube.com", "substack.com")


_GENERAL = _Topic(
    roles=_lines(
        """
        I run a two-person agency.
        I'm a freelancer and do most of the admin myself.
        I work at a 30-person company and somehow own this.
        Small team here, about a dozen people.
        """
    ),
    tasks=_lines(
        """
        keeping track of recurring invoices
        sharing passwords with contractors
        collecting feedback from customers
        keeping documentation up to date
        scheduling meetings across time zones
        backing up files from three different clouds
        """
    ),
    tools=("Google Sheets", "Notion", "Trello", "Slack", "Zapier", "Dropbox"),
    builds=("a tiny dashboard for our team", "a browser extension that saves me an hour a day"),
    questions=_lines(
        """
        What's one tool you couldn't work without?
        How do you structure your week?
        What did you learn this year?
        """
    ),
)

_TOPICS: dict[str, _Topic] = {
    "python": _Topic(
        roles=_lines(
            """
            I maintain a few internal Python tools at work.
            I'm a data analyst who learned Python on the job.
            Backend dev here, mostly Django and FastAPI.
            I teach an intro programming course.
            I'm the only developer at a small logistics company.
            """
        ),
        tasks=_lines(
            """
            packaging a CLI so non-technical colleagues can run it
            profiling memory in a long-running asyncio service
            managing virtualenvs across a dozen microservices
            parsing messy Excel exports from our ERP
            scheduling small scripts without running a whole Airflow
            testing code that talks to S3
            shipping a Python app to Windows users
            reading 40 GB CSV files without running out of RAM
            keeping type hints honest in a legacy codebase
            debugging flaky pytest runs in CI
            """
        ),
        tools=("pip", "Poetry", "conda", "PyInstaller", "Jupyter", "pandas", "Celery", "uv", "Django", "mypy"),
        builds=_lines(
            """
            a tiny library for retrying HTTP calls with jitter
            a TUI for browsing Parquet files
            a pytest plugin that records HTTP traffic
            a static site generator in 400 lines
            a CLI that turns notebooks into clean scripts
            a Discord bot that tracks our book club
            """
        ),
        questions=_lines(
            """
            What's the most underrated module in the standard library?
            Which Python feature took you the longest to appreciate?
            Is anyone using free-threaded Python in production yet?
            What's your go-to project layout in 2026?
            Favourite talk from PyCon this year?
            """
        ),
        author_flairs=("Pythonista", "Core Contributor", "Learning", "Django dev"),
        link_domains=("github.com", "realpython.com", "blog.python.org", "pypi.org", "youtube.com"),
    ),
    "dataengineering": _Topic(
        roles=_lines(
            """
            I'm the only data engineer at a 40-person fintech.
            Our team of five runs the warehouse for a retailer.
            Analytics engineer here, mostly dbt and SQL.
            I inherited a pipeline nobody documented.
            """
        ),
        tasks=_lines(
            """
            backfilling partitioned tables without double counting
            tracking schema changes from upstream teams
            keeping dbt docs in sync with reality
            alerting on late-arriving data
            debugging a Spark job that only runs out of memory in prod
            estimating warehouse cost per team
            testing pipelines before they hit prod
            deduplicating CDC events
            explaining lineage to auditors
            moving off a legacy SSIS setup
            """
        ),
        tools=_lines(
            """
            Airflow
            dbt
            Spark
            Snowflake
            Fivetran
            Glue
            Databricks
            Kafka
            Redshift
            Great Expectations
            """
        ),
        builds=_lines(
            """
            an open-source tool that diffs two tables in seconds
            a VS Code extension for dbt lineage
            a data contract linter for Avro schemas
            a cost dashboard for our warehouse
            """
        ),
        questions=_lines(
            """
            What does your modern data stack look like in 2026?
            Iceberg or Delta for a greenfield lakehouse?
            How many pipelines does your team maintain?
            What was your path into data engineering?
            """
        ),
        author_flairs=("Senior Data Engineer", "Lead Data Engineer", "Data Engineering Manager", "Data Analyst"),
        link_domains=("github.com", "medium.com", "substack.com", "youtube.com", "dev.to"),
    ),
    "saas": _Topic(
        roles=_lines(
            """
            I run a B2B SaaS doing about $8k MRR.
            Solo founder, bootstrapped, two years in.
            We're a team of four selling to dental clinics.
            I'm a PM at an early-stage SaaS.
            """
        ),
        tasks=_lines(
            """
            reducing involuntary churn from failed card payments
            collecting testimonials from happy customers
            onboarding users who never finish setup
            handling EU VAT on subscriptions
            figuring out which features drive upgrades
            sending usage-based invoices
            keeping a changelog customers actually read
            pricing an API product
            """
        ),
        tools=("Stripe", "Intercom", "HubSpot", "Mixpanel", "Chargebee", "Zendesk", "Paddle", "Notion"),
        builds=_lines(
            """
            a micro-SaaS that turns support tickets into FAQ pages
            a status page for indie hackers
            an invoice reminder tool for freelancers
            """
        ),
        questions=_lines(
            """
            What's your MRR and how long did it take?
            Monthly or annual pricing by default?
            Which growth channel surprised you the most?
            """
        ),
        author_flairs=("Founder", "Bootstrapper", "Product Manager"),
        link_domains=("indiehackers.com", "producthunt.com", "medium.com", "youtube.com"),
    ),
    "startups": _Topic(
        roles=_lines(
            """
            First-time founder, pre-seed.
            We're three co-founders with a small angel round.
            I left my job six months ago to build this.
            Technical founder, struggling on the sales side.
            """
        ),
        tasks=_lines(
            """
            finding our first ten paying customers
            validating an idea before writing code
            hiring a first engineer with no budget
            keeping investors updated without a CFO
            doing customer interviews that aren't biased
            tracking runway across three bank accounts
            writing cold emails that get replies
            """
        ),
        tools=("Carta", "Notion", "Airtable", "Pipedrive", "LinkedIn Sales Navigator", "Calendly", "Brex"),
        builds=_lines(
            """
            a marketplace for used lab equipment
            a scheduling assistant for physiotherapists
            an app that splits rent fairly between roommates
            """
        ),
        questions=_lines(
            """
            What's the best startup advice you ignored?
            How did you meet your co-founder?
            Is YC still worth it in 2026?
            """
        ),
        author_flairs=("Founder", "Co-founder", "Angel Investor"),
        link_domains=("techcrunch.com", "medium.com", "substack.com", "youtube.com"),
    ),
    "smallbusiness": _Topic(
        roles=_lines(
            """
            I own a small bakery with six employees.
            We run a landscaping company, eight guys in the field.
            I have a dog grooming salon and do everything myself.
            Family-owned hardware store, second generation.
            I run a cleaning business with twelve part-timers.
            """
        ),
        tasks=_lines(
            """
            scheduling staff shifts when people swap last minute
            chasing unpaid invoices
            tracking inventory across two stores
            answering the same customer questions all day
            doing payroll for part-timers
            keeping appointment no-shows down
            reconciling Square and QuickBooks
            getting reviews from happy customers
            """
        ),
        tools=("QuickBooks", "Square", "Shopify", "Xero", "Google Sheets", "Gusto", "Wave", "Excel"),
        builds=("a simple booking page for our salon", "a loyalty card system on a budget"),
        questions=_lines(
            """
            What's your best marketing channel on a small budget?
            How did you price your services when you started?
            What do you wish you knew before opening?
            """
        ),
        author_flairs=("Business Owner", "Retail", "Service Business"),
        link_domains=("forbes.com", "sba.gov", "youtube.com", "medium.com"),
    ),
    "entrepreneur": _Topic(
        roles=_lines(
            """
            I have three side businesses and a full-time job.
            E-commerce seller, about $20k a month in revenue.
            I run a small marketing consultancy.
            Ex-corporate, now self-employed for a year.
            """
        ),
        tasks=_lines(
            """
            bookkeeping for three side businesses
            finding a manufacturer for a small first batch
            managing freelancers across time zones
            getting leads without paying for ads
            staying on top of sales tax in several states
            turning a service business into a product
            """
        ),
        tools=("Upwork", "Fiverr", "Shopify", "Canva", "Google Ads", "Excel", "Alibaba", "Xero"),
        builds=("a print-on-demand store", "a newsletter for local tradespeople", "a course on cold outreach"),
        questions=_lines(
            """
            What business would you start with $5,000 today?
            What's the most profitable boring business you know?
            How do you stay motivated after a bad month?
            """
        ),
        author_flairs=("Entrepreneur", "E-commerce", "Consultant"),
        link_domains=("forbes.com", "entrepreneur.com", "youtube.com", "medium.com"),
    ),
    "webdev": _Topic(
        roles=_lines(
            """
            Freelance web developer, mostly small business sites.
            Front-end dev at an agency.
            Self-taught, first dev job for eight months now.
            Full-stack dev on a React and Node app.
            """
        ),
        tasks=_lines(
            """
            testing emails across clients
            getting Core Web Vitals green on a legacy site
            managing environment variables across preview deployments
            building accessible forms
            keeping a design system in sync with Figma
            handling image uploads without a huge bill
            debugging CORS errors
            migrating off Create React App
            """
        ),
        tools=("Webpack", "Next.js", "WordPress", "Tailwind", "Figma", "Vercel", "Netlify", "Cypress"),
        builds=_lines(
            """
            a CSS grid generator
            a portfolio site with a terminal theme
            a free tool to compress images in the browser
            a tiny analytics script without cookies
            """
        ),
        questions=_lines(
            """
            What's your stack for a simple marketing site?
            Which browser quirk made you lose the most time?
            Do you still use jQuery anywhere?
            """
        ),
        author_flairs=("full-stack", "front-end", "back-end", "Student"),
        link_domains=("github.com", "dev.to", "css-tricks.com", "youtube.com", "smashingmagazine.com"),
    ),
    "askreddit": _Topic(
        roles=(),
        tasks=_lines(
            """
            splitting bills with roommates
            keeping track of warranties and receipts
            finding a reliable plumber
            remembering birthdays
            planning meals for the week
            tracking subscriptions you forgot about
            coordinating a group trip
            cancelling a gym membership
            finding a doctor who takes new patients
            sorting out paperwork after moving
            organizing family photos
            finding time to exercise
            getting a landlord to fix things
            keeping houseplants alive
            """
        ),
        tools=("Splitwise", "Google Calendar", "Excel", "WhatsApp groups", "your bank's app"),
        builds=(),
        questions=(),
    ),
}


def _topic_for(name: str) -> _Topic:
    return _TOPICS.get(name.lower(), _GENERAL)


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------

_PROBLEM_TITLES = _lines(
    """
    Is there a tool for {task}?
    How do you deal with {task}?
    Frustrated with {tool} for {task}
    I wish there was an app for {task}
    Struggling with {task} — any advice?
    Anyone else find {task} incredibly painful?
    Spent {hours} hours this week {task}. There has to be a better way
    {tool} keeps letting me down for {task}. Alternatives?
    Why is {task} still so hard in 2026?
    Looking for software for {task} (happy to pay)
    What's the least painful way of {task}?
    How are small teams handling {task}?
    {Task} is killing me. What do you use?
    How do I automate {task}?
    """
)
_PROBLEM_PAIN = _lines(
    """
    Every {period} I lose about {hours} hours to {task}.
    Right now we do it by hand in {tool} and it's error-prone.
    It's honestly the part of the job I dread the most.
    Last month something slipped through and it cost us about ${money}.
    It worked fine when we were smaller, but it doesn't scale anymore.
    The worst part is that nobody notices until it's already a mess.
    """
)
_PROBLEM_TRIED = _lines(
    """
    I've tried {tool} and {tool2}, but {shortcoming}.
    We looked at {tool}, but {shortcoming}.
    Tried building a script myself, but {script_shortcoming}.
    """
)
_SHORTCOMINGS = _lines(
    """
    they're way too expensive for a team our size
    the setup took a week and still didn't work
    they don't integrate with anything we use
    support never answered
    they're built for enterprises, not for us
    it breaks every time something changes upstream
    the learning curve is brutal
    """
)
_SCRIPT_SHORTCOMINGS = _lines(
    """
    it breaks every time something changes upstream
    nobody else on the team can maintain it
    it took a whole weekend and still misses edge cases
    I don't have time to babysit it
    """
)
_PROBLEM_ASKS = _lines(
    """
    Is there something simple that just does this?
    How are you all handling it?
    I'd happily pay ${price}/month for a tool that just works.
    Am I missing an obvious solution?
    Any recommendations appreciated!
    Would love to hear what's working for you.
    """
)
_ASK_PROBLEM_TITLES = _lines(
    """
    What's something you wish there was an app for?
    What everyday problem still has no good solution?
    What's the most frustrating part of {task}?
    How do you keep on top of {task}?
    What's a chore you'd pay someone to take off your hands?
    People who are great at {task}, what's your secret?
    What's a small annoyance that ruins your whole day?
    What product do you keep buying because nothing better exists?
    Why is {task} still such a hassle in 2026?
    What's your system for {task}? Mine is a mess
    Is there an app that actually helps with {task}?
    What's the most annoying part of {task}?
    Parents of Reddit, how do you handle {task}?
    What would you invent to make {task} less painful?
    """
)
_ASK_OPENERS = _lines(
    """
    What's the best {thing} you've ever {verb}?
    What's a {thing} you'll never forget?
    What's the most underrated {thing}?
    What's a {thing} that everyone loves but you can't stand?
    If you could only keep one {thing} for the rest of your life, what would it be?
    What {thing} instantly takes you back to your childhood?
    """
)
_ASK_THINGS = tuple(
    tuple(line.split(" / "))
    for line in _lines(
        """
        meal / eaten
        movie / watched
        book / read
        album / heard
        gift / received
        video game / played
        piece of advice / received
        road trip / taken
        smell / noticed
        job / had
        concert / been to
        tv show / binged
        city / visited
        board game / played
        podcast / listened to
        purchase under $100 / made
        teacher / had
        restaurant / been to
        """
    )
)
_ASK_OTHERS = _lines(
    """
    People who wake up at 5am every day, why?
    What's a skill everyone should learn before 30?
    What's the weirdest thing you've seen on public transport?
    Teachers of Reddit, what's changed the most in the last ten years?
    Nurses of Reddit, what's the funniest thing a patient has said to you?
    What's a hill you're willing to die on?
    What's something that was normal 20 years ago but is strange now?
    [Serious] What's the best decision you've ever made?
    Introverts of Reddit, how do you recharge?
    What's a hobby that's cheaper than people think?
    Which fictional character would you trust with your life?
    What's the nicest thing a stranger has done for you?
    What's the worst advice you've ever been given?
    What's a small thing that makes you irrationally happy?
    Night owls of Reddit, what do you do at 3am?
    What's a "life hack" that actually works?
    What's your most unpopular food opinion?
    Doctors of Reddit, what's a myth you wish would die?
    What's the best thing you bought this year?
    What job would you do if money didn't matter?
    What's a movie that was better than the book?
    Which invention do you think we'll laugh at in 50 years?
    What's the most beautiful place you've been to?
    What's something you learned embarrassingly late?
    """
)
_ASK_DECOYS = _lines(
    """
    Chefs of Reddit, what's the secret to a good pain au chocolat?
    What's a 'no problem' moment that made your day?
    Which song title would make the best band name? Mine is Frustrated Farmers
    Wish me luck: what's the best first-date story you have?
    What's a struggle meal you secretly love?
    What's the most painless thing you've ever dreaded?
    """
)
_DECOY_TITLES = _lines(
    """
    No problem is too small: thanks to everyone who helped me learn {tool}
    Wish me luck — launching {build} tomorrow
    The struggle was worth it: we just hit ${mrr} MRR
    Can't recommend {tool} enough for {task}
    Problem solved: how we cut our {tool} bill by {percent}%
    I can't believe how easy {task} got with {tool}
    Pain au chocolat recipe that finally worked (owner of a tiny bakery)
    Headache-free release: {tool} {version} is out
    Pain points are overrated as a startup framework. Change my mind
    No problem, here's the template I promised in yesterday's thread
    """
)
_DECOY_BODIES = _lines(
    """
    Just wanted to say thanks. No problem I posted here went unanswered, and that's rare.
    Posting the write-up as promised. It was painless once we stopped overthinking it.
    The first year was a struggle, but the numbers finally look good. Happy to answer questions!
    No issues so far after three weeks in production. Zero complaints from the team.
    Sharing in case it helps someone. Feel free to copy it, no problem at all.
    """
)
_SHOWCASE_TITLES = _lines(
    """
    I built {build}
    Show r/{sub}: {build}
    Made {build} over the weekend, feedback welcome
    After {months} months of evenings, I finally shipped {build}
    """
)
_DISCUSSION_FILLERS = _lines(
    """
    Curious what everyone here thinks.
    I'll go first: {tool}, no contest.
    Asking because we're about to decide at work.
    Bonus points for stories.
    """
)
_MILESTONE_TITLES = _lines(
    """
    We just crossed {users} users after {months} months
    First paying customer today!
    Quit my job a year ago. Here's what I learned
    From side project to ${mrr} MRR: a short retrospective
    """
)
_NEWS_TITLES = _lines(
    """
    {tool} {version} released
    {tool} announces new pricing
    The state of {tool} in 2026 (survey results)
    {tool} {version}: what's new and what breaks
    """
)
_MOD_THREADS = (
    ("Weekly Self-Promotion Thread", "Share what you're working on. Top-level comments only, one link each."),
    ("Monthly 'Who's Hiring?' Thread", "Post roles in your team. Include location, remote policy and salary."),
    ("Daily Questions Thread", "Ask anything here, no question is too basic. Be kind."),
)
_EDIT_NOTES = _lines(
    """
    Thanks for all the suggestions, trying {tool} now.
    To clarify: we're already on {tool}.
    Wow, this blew up. I'll reply to everyone tonight.
    Solved, see the top comment.
    Typo.
    """
)
_COMMENT_ON_PROBLEM = _lines(
    """
    Have you tried {tool}? It handles most of this for us.
    Same problem here. We ended up with a script held together with duct tape.
    +1, I'd pay for this.
    We use {tool} for {task} and it's... fine. Not great.
    Honestly a spreadsheet and a calendar reminder got us 80% of the way.
    This is a great startup idea. Someone please build it.
    Following, same issue.
    {tool} has an API for that, but the docs are painful.
    We switched from {tool} to {tool2} last year and never looked back.
    """
)
_COMMENT_GENERIC = _lines(
    """
    This is the way.
    Great write-up, thanks for sharing!
    Congrats!! 🎉
    Source?
    Not sure I agree, but interesting take.
    lol
    Saving this for later.
    How long did that take you?
    Came here to say this.
    Can you share more details about the setup?
    Thanks, this helped me a lot.
    Underrated comment.
    """
)
_COMMENT_REPLIES = _lines(
    """
    Thanks, I'll check it out!
    Agreed.
    That's what we did too.
    Do you have a link?
    Interesting, why not {tool}?
    This. 100%.
    Fair point, hadn't thought of that.
    Same here haha
    """
)
_ASK_ANSWERS = _lines(
    """
    Honestly? Sleep.
    My grandma's lasagna. Nothing comes close.
    Every time I hear that song I'm 15 again.
    Learning to cook. Saves money and impresses people.
    A good pair of shoes. Your back will thank you.
    Probably the night we got lost in Lisbon and ended up at a fado bar.
    Calling my parents more often.
    Therapy. Wish I'd started ten years earlier.
    Not the answer you want, but: taxes.
    The smell of rain on hot asphalt.
    My first car. It was terrible and I loved it.
    Walking everywhere in Lisbon. My calves still hurt.
    Anything my dad cooked on Sundays.
    Getting a dog. Best decision of my life.
    Saying no to things I don't want to do.
    That one summer job at the ice cream shop.
    Probably The Lord of the Rings. Every December.
    Libraries. Free books, free wifi, nobody bothers you.
    """
)
_AUTOMOD_TEXT = {
    "startups": (
        'hi, automod here, if your post doesn\'t contain the exact phrase "i will not promote" your post will '
        "automatically be removed.\n\n*I am a bot, and this action was performed automatically. Please "
        "contact the moderators of this subreddit if you have any questions or concerns.*"
    ),
}
_DELETION_SHARE_POSTS = 0.03
_EDIT_SHARE_POSTS = 0.09
_LOCK_SHARE_POSTS = 0.01
_DECOY_SHARE = 0.07
_MOD_THREAD_SHARE = 0.002

_TITLE_EMOJI = ("🚀", "🙏", "😅", "🎉", "🤔", "😩", "🔥", "💡", "✅", "📈")
_UNICODE_SIGNOFFS = _lines(
    """
    Merci d'avance 🙏
    Greetings from São Paulo 🇧🇷
    (Sorry for my English — I'm from Zürich.)
    Grüße aus München!
    我们团队也遇到了同样的问题。
    東京から投稿しています。
    Спасибо заранее!
    ¡Gracias de antemano!
    Maybe a naïve question… cheers from Kraków ☕
    شكرا لكم
    """
)

_FIRST_NAMES = _words(
    """
    jane john maria li ahmed olga sam priya lucas emma kenji fatima noah zoe diego chloe tom ines
    """
)
_LAST_NAMES = _words(
    """
    doe smith garcia chen khan ivanova patel silva mueller okafor tanaka novak brown rossi
    """
)
_ADJECTIVES = _words(
    """
    Quiet Brave Crafty Latter Ambitious Salty Sleepy Curious Fancy Grumpy Lucky Humble Witty Dizzy Gentle
    Rapid Hidden Jolly Bitter Clever Odd Proud Rustic Silent Tidy Vivid Wild Zesty Frosty Sunny
    """
)
_NOUNS = _words(
    """
    Otter Badger Friend Falcon Teapot Walrus Pickle Comet Maple Goose Cactus Lantern Panda Robot Turnip
    Kettle Heron Pretzel Moose Bagel Pixel Anchor Beetle Cobra Donut Ferret Gecko Hammer Igloo Jackal
    """
)

_PII_POST_TEMPLATES = _lines(
    """
    If anyone wants the spreadsheet, email me at {email}.
    Happy to chat: {phone} (call or text).
    Big thanks to {mention} for pointing me here.
    More about me: {link}
    You can reach me at {email} or {phone}.
    DM me or book a call: {link}
    """
)
_PII_COMMENT_TEMPLATES = _lines(
    """
    Email me at {email} and I'll send it over.
    Text me at {phone}, happy to walk you through it.
    Ask {mention}, they built exactly this.
    I wrote about it here: {link}
    """
)
_PII_SHARE_POSTS = 0.06
_PII_SHARE_COMMENTS = 0.03
_UNICODE_SHARE = 0.1


# ---------------------------------------------------------------------------------------------
# Plans: everything about a post or comment that does not depend on ``now``
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostLabel:
    """Ground truth for a synthetic post, for measuring the pipeline's filters and scrubbers."""

    kind: str  # problem, decoy, showcase, discussion, milestone, news, question, mod
    is_problem: bool
    pii: tuple[str, ...]  # the personal data planted in the title or body, verbatim
    subreddit: str


class _PostPlan(NamedTuple):
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


class _CommentPlan(NamedTuple):
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


_NEVER = math.inf


def _grown(final: int, age: float, tau: float) -> int:
    """A score that starts at 1 and approaches ``final``: monotone in age, so monotone in ``now``."""
    if age <= 0 or final <= 1:
        return 1 if final >= 1 else final
    return 1 + int((final - 1) * (1.0 - math.exp(-age / tau)))


def _slug(title: str) -> str:
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", folded):
        if slug and len(slug) + 1 + len(word) > 50:
            break
        slug = f"{slug}_{word}" if slug else word[:50]
    return slug or "_"


_INLINE = re.compile(
    r"\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)\)"
    r"|(?P<url>https?://[^\s)]+)"
    r"|\*\*(?P<bold>[^*]+)\*\*"
    r"|(?<![\w/])(?P<user>u/[A-Za-z0-9_-]+)"
)


def _inline_html(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _INLINE.finditer(text):
        out.append(_escape(text[last : match.start()]))
        if match.group("text") is not None:
            href = _escape(match.group("href"))
            out.append(f'<a href="{href}">{_escape(match.group("text"))}</a>')
        elif match.group("url") is not None:
            url = _escape(match.group("url"))
            out.append(f'<a href="{url}">{url}</a>')
        elif match.group("bold") is not None:
            out.append(f"<strong>{_escape(match.group('bold'))}</strong>")
        else:
            user = match.group("user")
            out.append(f'<a href="/{user}">{user}</a>')
        last = match.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def _markdown_html(text: str) -> str:
    """The ``<div class="md">`` rendering Reddit sends beside markdown: paragraphs, lists, code, links."""
    blocks: list[str] = []
    for block in text.split("\n\n"):
        if block.startswith("```"):
            code = block.strip("`").strip("\n")
            blocks.append(f"<pre><code>{_escape(code)}\n</code></pre>")
        elif all(line.startswith("- ") for line in block.split("\n")):
            items = "".join(f"<li>{_inline_html(line[2:])}</li>\n" for line in block.split("\n"))
            blocks.append(f"<ul>\n{items}</ul>")
        else:
            blocks.append(f"<p>{_inline_html(block)}</p>")
    return '<div class="md">' + "\n\n".join(blocks) + "\n</div>"


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------

_SUBMISSION_KEYS = _words(
    """
    approved_at_utc subreddit selftext author_fullname saved mod_reason_title gilded clicked title
    link_flair_richtext subreddit_name_prefixed hidden pwls link_flair_css_class downs thumbnail_height
    top_awarded_type hide_score name quarantine link_flair_text_color upvote_ratio
    author_flair_background_color subreddit_type ups total_awards_received media_embed thumbnail_width
    author_flair_template_id is_original_content user_reports secure_media is_reddit_media_domain is_meta
    category secure_media_embed link_flair_text can_mod_post score approved_by is_created_from_ads_ui
    author_premium thumbnail edited author_flair_css_class author_flair_richtext gildings post_hint
    content_categories is_self mod_note created link_flair_type wls removed_by_category banned_by
    author_flair_type domain allow_live_comments selftext_html likes suggested_sort banned_at_utc
    url_overridden_by_dest view_count archived no_follow is_crosspostable pinned over_18 all_awardings
    awarders media_only link_flair_template_id can_gild spoiler locked author_flair_text treatment_tags
    visited removed_by num_reports distinguished subreddit_id author_is_blocked mod_reason_by
    removal_reason link_flair_background_color id is_robot_indexable report_reasons author discussion_type
    num_comments send_replies contest_mode mod_reports author_patreon_flair author_flair_text_color
    permalink stickied url subreddit_subscribers created_utc num_crossposts media is_video
    """
)
_COMMENT_KEYS = _words(
    """
    subreddit_id approved_at_utc author_is_blocked comment_type awarders mod_reason_by banned_by
    author_flair_type total_awards_received subreddit author_flair_template_id likes replies user_reports
    saved id banned_at_utc mod_reason_title gilded archived collapsed_reason_code no_follow author
    can_mod_post created_utc send_replies parent_id score author_fullname approved_by mod_note
    all_awardings collapsed body edited top_awarded_type author_flair_css_class name is_submitter downs
    author_flair_richtext author_patreon_flair body_html removal_reason collapsed_reason distinguished
    associated_award stickied author_premium can_gild gildings unrepliable_reason author_flair_text_color
    score_hidden permalink subreddit_type locked report_reasons created author_flair_text treatment_tags
    link_id subreddit_name_prefixed controversiality depth author_flair_background_color
    collapsed_because_crowd_control mod_reports num_reports ups
    """
)
# Reddit drops these keys, rather than nulling them, once an author is gone.
_AUTHOR_ONLY_KEYS = frozenset(
    {"author_fullname", "author_premium", "author_patreon_flair", "author_flair_type", "author_flair_richtext"}
)


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
        self.profiles = self._profiles(subreddits)
        if len(self.profiles) > 255:
            raise ValueError("at most 255 subreddits")
        self._topics = [_topic_for(p.name) for p in self.profiles]
        self._subreddit_ids = [
            "t5_" + to_base36(36**4 + _text_hash(p.name.lower()) % (36**5 - 36**4)) for p in self.profiles
        ]

        rng = random.Random(_mix(seed, _SALT_INDEX))
        total = posts if posts is not None else self._poisson_total(rng)
        times = self._arrival_times(rng, total)
        weights = list(accumulate(p.posts_per_day for p in self.profiles))
        owners = rng.choices(range(len(self.profiles)), cum_weights=weights, k=total)

        # Site-wide counter: the posts of other subreddits take the ids in between. Adding k keeps
        # ids strictly increasing even for posts created in the same second.
        base, start = _post_id_at(self.start), self.start
        self._created = array("d", times)
        self._subreddit_of = array("B", owners)
        self._id_ints = array(
            "q", (base + int((t - start) * _POSTS_PER_SECOND_SITEWIDE) + k for k, t in enumerate(times))
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
        self._comment_base = _comment_id_at(self.start)
        self._authors = max(400, total // 3)
        self._plan: Callable[[int], _PostPlan] = lru_cache(maxsize=8192)(self._make_plan)
        self._arrivals: Callable[[int], list[float]] = lru_cache(maxsize=16384)(self._make_arrivals)
        self._thread: Callable[[int], list[_CommentPlan]] = lru_cache(maxsize=1024)(self._make_thread)

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

    @staticmethod
    def _profiles(subreddits: Sequence[str] | None) -> list[SubredditProfile]:
        if subreddits is None:
            return list(DEFAULT_PROFILES)
        known = {p.name.lower(): p for p in DEFAULT_PROFILES}
        chosen: dict[str, SubredditProfile] = {}
        for name in subreddits:
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]{2,21}", name):
                raise ValueError(f"not a subreddit name: {name!r}")
            chosen.setdefault(name.lower(), known.get(name.lower(), _generic_profile(name)))
        if not chosen:
            raise ValueError("subreddits must name at least one subreddit")
        return list(chosen.values())

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
        return self._render_post(k, now)

    def comments(self, post_id: str, now: float) -> list[JsonObject]:
        k = self._find(post_id)
        if k is None or self._created[k] > now:
            return []
        plan = self._plan(k)
        visible = bisect.bisect_right(self._arrivals(k), now)
        thread = self._thread(k)
        return [self._render_comment(k, plan, thread, j, now) for j in range(visible)]

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
        if not isinstance(post_id, str) or not _ID_SHAPE.fullmatch(post_id) or post_id[0] == "0":
            return None
        number = int(post_id, 36)
        k = bisect.bisect_left(self._id_ints, number)
        if k < len(self._id_ints) and self._id_ints[k] == number:
            return k
        return None

    def _post_id(self, k: int) -> str:
        return to_base36(self._id_ints[k])

    def _author(self, a: int) -> tuple[str, str]:
        """(name, fullname) of pool member ``a``: distinct members get distinct names and fullnames."""
        if a < 0:
            return AUTOMODERATOR, _AUTOMODERATOR_FULLNAME
        styles, n_adj, n_noun = 4, len(_ADJECTIVES), len(_NOUNS)
        space = styles * n_adj * n_noun * 10_000
        code = (a * 2_654_435_761 + _mix(self.seed, _SALT_AUTHOR) % space) % space  # a bijection on [0, space)
        style, rest = code % styles, code // styles
        adj, rest = _ADJECTIVES[rest % n_adj], rest // n_adj
        noun, number = _NOUNS[rest % n_noun], rest // n_noun
        if style == 0:
            name = f"{adj}-{noun}-{number:04d}"
        elif style == 1:
            name = f"{adj}_{noun}_{number:04d}"
        elif style == 2:
            name = f"{adj.lower()}{noun.lower()}{number}"
        else:
            name = f"{noun.lower()}_{adj.lower()}{number}"
        fullname = "t2_" + to_base36(36**7 + (code * 48_271) % (36**8 - 36**7))
        return name, fullname

    def _pick_author(self, rng: random.Random) -> int:
        """Few people write most posts: a power law over the pool."""
        return int(self._authors * rng.random() ** 2.5)

    # -- planning ----------------------------------------------------------------------------

    def _make_plan(self, k: int) -> _PostPlan:
        rng = random.Random(_mix(self.seed, _SALT_POST, k))
        owner = self._subreddit_of[k]
        profile = self.profiles[owner]
        topic = self._topics[owner]
        created = self._created[k]
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

        title, body = self._write(rng, kind, profile, topic, pii)

        url: str | None = None
        domain = f"self.{profile.name}"
        post_hint: str | None = None
        link_chance = max(profile.link_share, 0.5) if kind == "news" else profile.link_share
        if kind in ("showcase", "news", "milestone") and rng.random() < link_chance:
            url, domain, post_hint = self._link(rng, title, topic)
            body = ""
            pii.clear()  # the body that held them is gone
        elif kind == "discussion" and rng.random() < profile.link_share * 0.3:
            image = f"{to_base36(_mix(self.seed, k, 7))[:13]}"
            url, domain, post_hint = f"https://i.redd.it/{image}.jpeg", "i.redd.it", "image"
            body = ""

        if body and rng.random() < _PII_SHARE_POSTS:
            body = body + "\n\n" + self._pii_sentence(rng, _PII_POST_TEMPLATES, pii)
        if rng.random() < _UNICODE_SHARE * 0.8:
            title = f"{title} {rng.choice(_TITLE_EMOJI)}"
        if body and rng.random() < _UNICODE_SHARE:
            body = f"{body}\n\n{rng.choice(_UNICODE_SIGNOFFS)}"

        mod = kind == "mod"
        z = rng.gauss(0.0, 1.0)
        final_score = (
            1 if mod else max(1, min(150_000, round(profile.median_score * math.exp(profile.score_spread * z))))
        )
        engagement = 1.4 if kind == "problem" else 1.0
        final_comments = round(engagement * profile.median_comments * math.exp(0.9 * z + 0.5 * rng.gauss(0.0, 1.0)))
        if rng.random() < 0.12:
            final_comments = 0
        final_comments = min(MAX_COMMENTS_PER_POST, max(0, final_comments))
        ratio = round(min(1.0, max(0.5, 0.93 + 0.03 * z - abs(rng.gauss(0.0, 0.08)))), 2)

        edit_at = _NEVER
        edit_note = ""
        if body and rng.random() < _EDIT_SHARE_POSTS:
            edit_at = float(int(created + 60 + min(3 * DAY, rng.expovariate(1 / 7200))))
            edit_note = rng.choice(_EDIT_NOTES).format(tool=rng.choice(topic.tools))
        fate: str | None = None
        fate_at = _NEVER
        fate_roll = rng.random()
        if not mod and fate_roll < _DELETION_SHARE_POSTS:
            fate = "deleted"
        elif not mod and fate_roll < _DELETION_SHARE_POSTS + profile.removal_share:
            fate = "removed"
        if fate is not None:
            fate_at = float(int(created + 300 + rng.expovariate(1 / (6 * 3600))))
        lock_at = float(int(created + 3600 + rng.expovariate(1 / DAY))) if rng.random() < _LOCK_SHARE_POSTS else _NEVER

        return _PostPlan(
            kind=kind,
            title=title,
            body=body,
            url=url,
            domain=domain,
            post_hint=post_hint,
            flair=rng.randrange(len(profile.flairs)) if profile.flairs and rng.random() < 0.7 else -1,
            author=-1 if mod else self._pick_author(rng),
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

    def _write(
        self, rng: random.Random, kind: str, profile: SubredditProfile, topic: _Topic, pii: list[str]
    ) -> tuple[str, str]:
        """A title and a markdown body for a post of ``kind``."""
        tool, tool2 = rng.sample(topic.tools, 2)
        task = rng.choice(topic.tasks)
        fill = {
            "task": task,
            "Task": task[0].upper() + task[1:],
            "tool": tool,
            "tool2": tool2,
            "hours": str(rng.choice((3, 4, 5, 6, 8, 10, 12, 15))),
            "period": rng.choice(("week", "month", "Monday", "quarter-end")),
            "money": f"{rng.choice((400, 900, 1200, 2500, 4000, 7500)):,}",
            "price": str(rng.choice((10, 20, 29, 49, 99))),
            "sub": profile.name,
            "build": rng.choice(topic.builds or _GENERAL.builds),
            "months": str(rng.randint(2, 18)),
            "users": f"{rng.choice((100, 500, 1000, 2500, 10000)):,}",
            "mrr": f"{rng.choice((1, 2, 5, 10, 25))}k",
            "percent": str(rng.choice((20, 30, 40, 60))),
            "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
        }
        if profile.titles_only:
            if kind == "problem":
                return rng.choice(_ASK_PROBLEM_TITLES).format(**fill), ""
            if kind == "decoy":
                return rng.choice(_ASK_DECOYS), ""
            if rng.random() < 0.6:
                thing, verb = rng.choice(_ASK_THINGS)
                return rng.choice(_ASK_OPENERS).format(thing=thing, verb=verb), ""
            return rng.choice(_ASK_OTHERS), ""

        if kind == "mod":
            title, body = rng.choice(_MOD_THREADS)
            return title, body
        if kind == "problem":
            title = rng.choice(_PROBLEM_TITLES).format(**fill)
            sentences = [rng.choice(topic.roles or _GENERAL.roles)]
            sentences += [s.format(**fill) for s in rng.sample(_PROBLEM_PAIN, rng.randint(1, 2))]
            paragraphs = [" ".join(sentences)]
            if rng.random() < 0.75:
                tried = rng.choice(_PROBLEM_TRIED).format(
                    **fill, shortcoming=rng.choice(_SHORTCOMINGS), script_shortcoming=rng.choice(_SCRIPT_SHORTCOMINGS)
                )
                paragraphs.append(tried)
            if profile.name.lower() == "python" and rng.random() < 0.25:
                paragraphs.append("```\nfor path in sorted(inbox.glob('*.xlsx')):\n    frame = read(path)\n```")
            paragraphs.append(rng.choice(_PROBLEM_ASKS).format(**fill))
            return title, "\n\n".join(paragraphs)
        if kind == "decoy":
            return rng.choice(_DECOY_TITLES).format(**fill), rng.choice(_DECOY_BODIES)
        if kind == "showcase":
            title = rng.choice(_SHOWCASE_TITLES).format(**fill)
            name, _ = self._author(self._pick_author(rng))
            words = [w for w in _slug(fill["build"]).split("_") if w not in ("a", "an", "the")]
            repo = f"https://github.com/{name.lower()}/{'-'.join(words[:3])}"
            pii.append(repo)
            features = "\n".join(
                f"- {line}"
                for line in rng.sample(
                    (
                        "works offline",
                        "no account needed",
                        "MIT licensed",
                        "about 300 lines, no dependencies",
                        f"integrates with {tool}",
                        "dark mode, obviously",
                    ),
                    3,
                )
            )
            body = f"Hi r/{profile.name}! I got tired of {task}, so I built this.\n\n{features}\n\nCode: {repo}"
            return title, body
        if kind == "milestone":
            title = rng.choice(_MILESTONE_TITLES).format(**fill)
            body = (
                f"Quick update for anyone who followed along. {rng.choice(topic.roles or _GENERAL.roles)} "
                f"What worked: talking to customers every week and doing things that don't scale. "
                f"What didn't: paid ads and building features nobody asked for."
            )
            return title, body
        if kind == "news":
            return rng.choice(_NEWS_TITLES).format(**fill), f"Release notes are linked. Thoughts on the {tool} changes?"
        if kind == "discussion":
            return rng.choice(topic.questions or _GENERAL.questions), rng.choice(_DISCUSSION_FILLERS).format(**fill)
        # question: an opinion question, not a problem
        return (
            f"What's your favourite thing about {tool}?",
            f"Been using it for {fill['months']} months. Curious what others like.",
        )

    def _link(self, rng: random.Random, title: str, topic: _Topic) -> tuple[str, str, str]:
        domain = rng.choice(topic.link_domains)
        slug = _slug(title).replace("_", "-")
        if domain == "youtube.com":
            video = "".join(rng.choice(_BASE36 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") for _ in range(11))
            return f"https://www.youtube.com/watch?v={video}", "youtube.com", "rich:video"
        if domain == "github.com":
            return f"https://github.com/{slug[:20].strip('-')}/{slug[:30].strip('-')}", domain, "link"
        return f"https://{domain}/{slug}", domain, "link"

    def _pii_sentence(self, rng: random.Random, templates: Sequence[str], pii: list[str]) -> str:
        # Reserved for fiction: example.* domains (RFC 2606), 555-01xx (NANP), Ofcom's and ACMA's drama ranges.
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        area = rng.choice((212, 415, 512, 646, 303))
        email = rng.choice(
            (
                f"{first}.{last}{rng.randint(1, 99)}@example.com",
                f"{first}{last[0]}@example.org",
                f"{first}@{last}-consulting.example.net",
            )
        )
        phone = rng.choice(
            (
                f"+1 ({area}) 555-01{rng.randint(0, 99):02d}",
                f"{area}-555-01{rng.randint(0, 99):02d}",
                f"+44 20 7946 0{rng.randint(0, 999):03d}",
                f"07700 900{rng.randint(0, 999):03d}",
                f"+61 491 570 {rng.randint(100, 999)}",
            )
        )
        mention = "u/" + self._author(self._pick_author(rng))[0]
        link = rng.choice(
            (
                f"https://{first}{last}.example.com",
                f"https://www.linkedin.com/in/{first}-{last}-{rng.randint(1000, 9999)}",
                f"https://calendly.com/{first}-{last}/30min",
            )
        )
        template = rng.choice(templates)
        for key, value in (("email", email), ("phone", phone), ("mention", mention), ("link", link)):
            if "{" + key + "}" in template:
                pii.append(value)
        return template.format(email=email, phone=phone, mention=mention, link=link)

    def _has_automod_comment(self, k: int, plan: _PostPlan) -> bool:
        return self.profiles[self._subreddit_of[k]].automod_comment is not None and plan.kind != "mod"

    def _make_arrivals(self, k: int) -> list[float]:
        """When each comment of post ``k`` arrives: whole seconds, strictly increasing, after the post.

        Kept apart from the rest of the thread because every listing needs ``num_comments``, which is
        just how many of these times have passed.
        """
        plan = self._plan(k)
        rng = random.Random(_mix(self.seed, _SALT_ARRIVALS, k))
        created = self._created[k]
        fast, slow = 3600.0 * rng.uniform(1.0, 4.0), DAY * rng.uniform(0.5, 2.0)
        arrivals = sorted(
            created + 20.0 + rng.expovariate(1.0 / (fast if rng.random() < 0.85 else slow))
            for _ in range(plan.final_comments)
        )
        arrivals = [t for t in arrivals if t < plan.lock_at]  # a locked thread takes no new comments
        if self._has_automod_comment(k, plan):
            arrivals = [created + rng.randint(2, 6), *arrivals][:MAX_COMMENTS_PER_POST]
        times: list[float] = []
        previous = int(created)
        for arrival in arrivals:
            previous = max(int(arrival), previous + 1)
            times.append(float(previous))
        return times

    def _make_thread(self, k: int) -> list[_CommentPlan]:
        """Whom each comment answers, who wrote it and how it will fare; its words come at rendering."""
        plan = self._plan(k)
        times = self._arrivals(k)
        rng = random.Random(_mix(self.seed, _SALT_THREAD, k))
        automod = self._has_automod_comment(k, plan)
        first = 1 if automod else 0
        comments: list[_CommentPlan] = []
        for j, t in enumerate(times):
            if j < first:
                comments.append(_CommentPlan(t, -1, 0, -1, 1, 1.0, None, _NEVER, _NEVER, False))
                continue
            parent = -1
            if j > first and rng.random() < (0.4 if j < 3 else 0.55):
                if rng.random() < 0.5:
                    parent = max(first, j - 1 - int(rng.expovariate(0.4)))
                else:
                    parent = rng.randrange(first, j)
                if comments[parent].depth >= 8:
                    parent = -1
            depth = 0 if parent < 0 else comments[parent].depth + 1
            # OP answers some replies in their own thread.
            author = plan.author if parent >= 0 and rng.random() < 0.2 else self._pick_author(rng)
            score = max(1, round(math.exp(rng.gauss(0.0, 0.9)) * (1 + plan.final_score**0.5) / (1 + 0.1 * j)))
            fate_roll = rng.random()
            fate = "deleted" if fate_roll < 0.04 else "removed" if fate_roll < 0.06 else None
            fate_at = float(int(t + 60 + rng.expovariate(1 / (8 * 3600)))) if fate else _NEVER
            edit_at = float(int(t + 30 + rng.expovariate(1 / 1800))) if rng.random() < 0.05 else _NEVER
            tau = 3600.0 * rng.uniform(1.0, 6.0)
            controversial = rng.random() < 0.03
            comments.append(_CommentPlan(t, parent, depth, author, score, tau, fate, fate_at, edit_at, controversial))
        return comments

    # -- rendering ---------------------------------------------------------------------------

    def _render_post(self, k: int, now: float) -> JsonObject:
        plan = self._plan(k)
        owner = self._subreddit_of[k]
        profile = self.profiles[owner]
        topic = self._topics[owner]
        post_id = self._post_id(k)
        created = self._created[k]
        name = profile.name
        permalink = f"/r/{name}/comments/{post_id}/{_slug(plan.title)}/"
        gone = plan.fate is not None and plan.fate_at <= now
        deleted = gone and plan.fate == "deleted"
        removed = gone and plan.fate == "removed"
        author, author_fullname = (_DELETED, "") if deleted else self._author(plan.author)
        is_self = plan.url is None

        selftext = plan.body
        edited: float | bool = False
        if plan.edit_at <= now:
            edited = plan.edit_at
            selftext = f"{selftext}\n\n**Edit:** {plan.edit_note}"
        if deleted and is_self:
            selftext = _DELETED
        elif removed and is_self:
            selftext = _REMOVED
        score = _grown(plan.final_score, now - created, plan.score_tau)
        nsfw, spoiler = plan.over_18, plan.spoiler
        flair = profile.flairs[plan.flair] if plan.flair >= 0 else None
        flair_hash = _text_hash(f"{name}/{flair}")
        author_flair = None
        if not deleted and plan.author >= 0 and topic.author_flairs and _mix(self.seed, plan.author, owner) % 9 == 0:
            author_flair = topic.author_flairs[_mix(plan.author, owner) % len(topic.author_flairs)]
        if nsfw:
            thumbnail = "nsfw"
        elif spoiler:
            thumbnail = "spoiler"
        elif is_self:
            thumbnail = "self"
        elif plan.post_hint == "image":
            thumbnail = f"https://b.thumbs.redditmedia.com/{to_base36(_mix(self.seed, k, 11))}.jpg"
        else:
            thumbnail = "default"
        wls = 3 if nsfw else 6

        data: JsonObject = {
            "approved_at_utc": None,
            "subreddit": name,
            "selftext": selftext,
            "author_fullname": author_fullname,
            "saved": False,
            "mod_reason_title": None,
            "gilded": 0,
            "clicked": False,
            "title": plan.title,
            "link_flair_richtext": [],
            "subreddit_name_prefixed": f"r/{name}",
            "hidden": False,
            "pwls": wls,
            "link_flair_css_class": flair.lower().replace(" ", "-").strip("?") if flair else None,
            "downs": 0,
            "thumbnail_height": 140 if plan.post_hint == "image" else None,
            "top_awarded_type": None,
            "hide_score": False,
            "name": f"t3_{post_id}",
            "quarantine": False,
            "link_flair_text_color": "light" if flair and flair_hash % 3 == 0 else "dark",
            "upvote_ratio": 1.0 if score <= 1 else plan.upvote_ratio,
            "author_flair_background_color": None,
            "subreddit_type": "public",
            "ups": score,
            "total_awards_received": 0,
            "media_embed": {},
            "thumbnail_width": 140 if plan.post_hint == "image" else None,
            "author_flair_template_id": None,
            "is_original_content": plan.kind == "showcase",
            "user_reports": [],
            "secure_media": None,
            "is_reddit_media_domain": plan.domain == "i.redd.it",
            "is_meta": False,
            "category": None,
            "secure_media_embed": {},
            "link_flair_text": flair,
            "can_mod_post": False,
            "score": score,
            "approved_by": None,
            "is_created_from_ads_ui": False,
            "author_premium": plan.author >= 0 and _mix(self.seed, plan.author, 3) % 20 == 0,
            "thumbnail": thumbnail,
            "edited": edited,
            "author_flair_css_class": None,
            "author_flair_richtext": [{"e": "text", "t": author_flair}] if author_flair else [],
            "gildings": {},
            "content_categories": None,
            "is_self": is_self,
            "mod_note": None,
            "created": created,
            "link_flair_type": "text",
            "wls": wls,
            "removed_by_category": ("deleted" if deleted else "moderator") if gone else None,
            "banned_by": None,
            "author_flair_type": "richtext" if author_flair else "text",
            "domain": plan.domain,
            "allow_live_comments": False,
            "selftext_html": f"<!-- SC_OFF -->{_markdown_html(selftext)}<!-- SC_ON -->" if selftext else None,
            "likes": None,
            "suggested_sort": profile.suggested_sort,
            "banned_at_utc": None,
            "view_count": None,
            "archived": False,
            "no_follow": score <= 1,
            "is_crosspostable": not gone,
            "pinned": False,
            "over_18": nsfw,
            "all_awardings": [],
            "awarders": [],
            "media_only": False,
            "can_gild": False,
            "spoiler": spoiler,
            "locked": plan.lock_at <= now,
            "author_flair_text": author_flair,
            "treatment_tags": [],
            "visited": False,
            "removed_by": None,
            "num_reports": None,
            "distinguished": "moderator" if plan.stickied else None,
            "subreddit_id": self._subreddit_ids[owner],
            "author_is_blocked": False,
            "mod_reason_by": None,
            "removal_reason": None,
            "link_flair_background_color": f"#{flair_hash % 0xFFFFFF:06x}" if flair else "",
            "id": post_id,
            "is_robot_indexable": not gone,
            "report_reasons": None,
            "author": author,
            "discussion_type": None,
            "num_comments": bisect.bisect_right(self._arrivals(k), now),
            "send_replies": True,
            "contest_mode": False,
            "mod_reports": [],
            "author_patreon_flair": False,
            "author_flair_text_color": "dark" if author_flair else None,
            "permalink": permalink,
            "stickied": plan.stickied,
            "url": plan.url or f"https://www.reddit.com{permalink}",
            "subreddit_subscribers": profile.subscribers,
            "created_utc": created,
            "num_crossposts": plan.num_crossposts,
            "media": None,
            "is_video": False,
        }
        if flair:
            data["link_flair_template_id"] = str(uuid.UUID(int=_mix(flair_hash, 1) << 64 | _mix(flair_hash, 2)))
        if plan.post_hint is not None:
            data["post_hint"] = plan.post_hint
        if not is_self:
            data["url_overridden_by_dest"] = plan.url
        return {
            key: data[key] for key in _SUBMISSION_KEYS if key in data and not (deleted and key in _AUTHOR_ONLY_KEYS)
        }

    def _render_comment(self, k: int, plan: _PostPlan, thread: list[_CommentPlan], j: int, now: float) -> JsonObject:
        comment = thread[j]
        owner = self._subreddit_of[k]
        profile = self.profiles[owner]
        topic = self._topics[owner]
        post_id = self._post_id(k)
        comment_id = to_base36(self._comment_base + k * _COMMENT_SLOTS_PER_POST + j)
        rng = random.Random(_mix(self.seed, _SALT_COMMENT, k, j))
        automod = comment.author < 0

        if automod:
            body = _AUTOMOD_TEXT.get(profile.automod_comment or "", "Please follow the rules of this community.")
        else:
            body = self._comment_text(rng, plan, profile, topic, comment)
        gone = comment.fate is not None and comment.fate_at <= now
        edited: float | bool = False
        if comment.edit_at <= now:
            edited = comment.edit_at
            body = f"{body}\n\nEdit: {rng.choice(('typo', 'thanks for the replies!', 'added a link', 'clarified'))}"
        if gone:
            body = _DELETED if comment.fate == "deleted" else _REMOVED
        author, author_fullname = (_DELETED, "") if gone else self._author(comment.author)
        score = _grown(comment.final_score, now - comment.created, comment.score_tau)
        parent_id = (
            f"t3_{post_id}"
            if comment.parent < 0
            else ("t1_" + to_base36(self._comment_base + k * _COMMENT_SLOTS_PER_POST + comment.parent))
        )
        data: JsonObject = {
            "subreddit_id": self._subreddit_ids[owner],
            "approved_at_utc": None,
            "author_is_blocked": False,
            "comment_type": None,
            "awarders": [],
            "mod_reason_by": None,
            "banned_by": None,
            "author_flair_type": "text",
            "total_awards_received": 0,
            "subreddit": profile.name,
            "author_flair_template_id": None,
            "likes": None,
            "replies": "",
            "user_reports": [],
            "saved": False,
            "id": comment_id,
            "banned_at_utc": None,
            "mod_reason_title": None,
            "gilded": 0,
            "archived": False,
            "collapsed_reason_code": None,
            "no_follow": score <= 1,
            "author": author,
            "can_mod_post": False,
            "created_utc": comment.created,
            "send_replies": True,
            "parent_id": parent_id,
            "score": score,
            "author_fullname": author_fullname,
            "approved_by": None,
            "mod_note": None,
            "all_awardings": [],
            "collapsed": False,
            "body": body,
            "edited": edited,
            "top_awarded_type": None,
            "author_flair_css_class": None,
            "name": f"t1_{comment_id}",
            "is_submitter": not gone and comment.author >= 0 and comment.author == plan.author,
            "downs": 0,
            "author_flair_richtext": [],
            "author_patreon_flair": False,
            "body_html": _markdown_html(body),
            "removal_reason": None,
            "collapsed_reason": None,
            "distinguished": "moderator" if automod else None,
            "associated_award": None,
            "stickied": automod,
            "author_premium": False,
            "can_gild": False,
            "gildings": {},
            "unrepliable_reason": None,
            "author_flair_text_color": None,
            "score_hidden": False,
            "permalink": f"/r/{profile.name}/comments/{post_id}/{_slug(plan.title)}/{comment_id}/",
            "subreddit_type": "public",
            "locked": False,
            "report_reasons": None,
            "created": comment.created,
            "author_flair_text": None,
            "treatment_tags": [],
            "link_id": f"t3_{post_id}",
            "subreddit_name_prefixed": f"r/{profile.name}",
            "controversiality": 1 if comment.controversial else 0,
            "depth": comment.depth,
            "author_flair_background_color": None,
            "collapsed_because_crowd_control": None,
            "mod_reports": [],
            "num_reports": None,
            "ups": score,
        }
        if gone:
            return {key: data[key] for key in _COMMENT_KEYS if key not in _AUTHOR_ONLY_KEYS}
        return {key: data[key] for key in _COMMENT_KEYS}

    def _comment_text(
        self, rng: random.Random, plan: _PostPlan, profile: SubredditProfile, topic: _Topic, comment: _CommentPlan
    ) -> str:
        tool, tool2 = rng.sample(topic.tools, 2)
        fill = {"tool": tool, "tool2": tool2, "task": rng.choice(topic.tasks)}
        if comment.parent >= 0:
            text = rng.choice(_COMMENT_REPLIES).format(**fill)
        elif profile.titles_only and plan.kind != "problem":
            text = rng.choice(_ASK_ANSWERS)
        elif plan.kind == "problem" and rng.random() < 0.7:
            text = rng.choice(_COMMENT_ON_PROBLEM).format(**fill)
        else:
            text = rng.choice(_COMMENT_GENERIC)
        if rng.random() < _PII_SHARE_COMMENTS:
            text = f"{text} {self._pii_sentence(rng, _PII_COMMENT_TEMPLATES, [])}"
        if rng.random() < _UNICODE_SHARE * 0.5:
            text = f"{text} {rng.choice(_UNICODE_SIGNOFFS)}"
        return text


def _conforms(corpus: SyntheticCorpus) -> Corpus:
    """Lets mypy prove that SyntheticCorpus satisfies the Corpus protocol."""
    return corpus
