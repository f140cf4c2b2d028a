"""The words of posts and comments: titles, bodies, links, and the personal data planted in them.

Every function draws from the ``rng`` it is given, in a fixed order: the same stream always
writes the same text, so the order of the draws below is part of the corpus's definition.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from lakehouse_tools.replay.synthetic.authors import AuthorPool
from lakehouse_tools.replay.synthetic.ids import BASE36
from lakehouse_tools.replay.synthetic.markup import slug
from lakehouse_tools.replay.synthetic.profiles import SubredditProfile
from lakehouse_tools.replay.synthetic.vocabulary import ASK, COMMENTS, GENERAL_TOPIC, PII, POSTS, UNICODE, Topic

_PII_SHARE_POSTS = 0.06
_PII_SHARE_COMMENTS = 0.03
_UNICODE_SHARE = 0.1


def write_post(
    rng: random.Random, kind: str, profile: SubredditProfile, topic: Topic, pii: list[str], authors: AuthorPool
) -> tuple[str, str]:
    """A title and a markdown body for a post of ``kind``; planted personal data is appended to ``pii``."""
    tool, tool2 = rng.sample(topic.tools, 2)
    task = rng.choice(topic.tasks)
    choices = POSTS.fill_choices
    fill = {
        "task": task,
        "Task": task[0].upper() + task[1:],
        "tool": tool,
        "tool2": tool2,
        "hours": str(rng.choice(choices["hours"])),
        "period": rng.choice(choices["period"]),
        "money": f"{rng.choice(choices['money']):,}",
        "price": str(rng.choice(choices["price"])),
        "sub": profile.name,
        "build": rng.choice(topic.builds or GENERAL_TOPIC.builds),
        "months": str(rng.randint(2, 18)),
        "users": f"{rng.choice(choices['users']):,}",
        "mrr": f"{rng.choice(choices['mrr'])}k",
        "percent": str(rng.choice(choices["percent"])),
        "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}",
    }
    if profile.titles_only:
        if kind == "problem":
            return rng.choice(ASK.problem_titles).format(**fill), ""
        if kind == "decoy":
            return rng.choice(ASK.decoys), ""
        if rng.random() < 0.6:
            thing, verb = rng.choice(ASK.things)
            return rng.choice(ASK.openers).format(thing=thing, verb=verb), ""
        return rng.choice(ASK.others), ""

    if kind == "mod":
        title, body = rng.choice(POSTS.mod_threads)
        return title, body
    if kind == "problem":
        title = rng.choice(POSTS.problem_titles).format(**fill)
        sentences = [rng.choice(topic.roles or GENERAL_TOPIC.roles)]
        sentences += [s.format(**fill) for s in rng.sample(POSTS.problem_pain, rng.randint(1, 2))]
        paragraphs = [" ".join(sentences)]
        if rng.random() < 0.75:
            tried = rng.choice(POSTS.problem_tried).format(
                **fill,
                shortcoming=rng.choice(POSTS.shortcomings),
                script_shortcoming=rng.choice(POSTS.script_shortcomings),
            )
            paragraphs.append(tried)
        if profile.name.lower() == "python" and rng.random() < 0.25:
            paragraphs.append(POSTS.python_snippet)
        paragraphs.append(rng.choice(POSTS.problem_asks).format(**fill))
        return title, "\n\n".join(paragraphs)
    if kind == "decoy":
        return rng.choice(POSTS.decoy_titles).format(**fill), rng.choice(POSTS.decoy_bodies)
    if kind == "showcase":
        title = rng.choice(POSTS.showcase_titles).format(**fill)
        name, _ = authors.name(authors.pick(rng))
        words = [w for w in slug(fill["build"]).split("_") if w not in ("a", "an", "the")]
        repo = f"https://github.com/{name.lower()}/{'-'.join(words[:3])}"
        pii.append(repo)
        features = [feature.format(**fill) for feature in POSTS.showcase_features]
        listed = "\n".join(f"- {line}" for line in rng.sample(features, 3))
        return title, POSTS.showcase_body.format(**fill, features=listed, repo=repo)
    if kind == "milestone":
        title = rng.choice(POSTS.milestone_titles).format(**fill)
        return title, POSTS.milestone_body.format(role=rng.choice(topic.roles or GENERAL_TOPIC.roles))
    if kind == "news":
        return rng.choice(POSTS.news_titles).format(**fill), POSTS.news_body.format(**fill)
    if kind == "discussion":
        question = rng.choice(topic.questions or GENERAL_TOPIC.questions)
        return question, rng.choice(POSTS.discussion_fillers).format(**fill)
    # question: an opinion question, not a problem
    return POSTS.opinion_title.format(**fill), POSTS.opinion_body.format(**fill)


def decorate_post(rng: random.Random, title: str, body: str, pii: list[str], authors: AuthorPool) -> tuple[str, str]:
    """The title and body with what some posts carry beyond their words: contact details, emoji, a sign-off."""
    if body and rng.random() < _PII_SHARE_POSTS:
        body = body + "\n\n" + pii_sentence(rng, PII.post_templates, pii, authors)
    if rng.random() < _UNICODE_SHARE * 0.8:
        title = f"{title} {rng.choice(UNICODE.title_emoji)}"
    if body and rng.random() < _UNICODE_SHARE:
        body = f"{body}\n\n{rng.choice(UNICODE.signoffs)}"
    return title, body


def link(rng: random.Random, title: str, topic: Topic) -> tuple[str, str, str]:
    """(url, domain, post_hint) of a link post, on one of the domains the topic's people share."""
    domain = rng.choice(topic.link_domains)
    title_slug = slug(title).replace("_", "-")
    if domain == "youtube.com":
        video = "".join(rng.choice(BASE36 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") for _ in range(11))
        return f"https://www.youtube.com/watch?v={video}", "youtube.com", "rich:video"
    if domain == "github.com":
        return f"https://github.com/{title_slug[:20].strip('-')}/{title_slug[:30].strip('-')}", domain, "link"
    return f"https://{domain}/{title_slug}", domain, "link"


def pii_sentence(rng: random.Random, templates: Sequence[str], pii: list[str], authors: AuthorPool) -> str:
    """A sentence from ``templates`` with fictional contact details; the ones it uses are appended to ``pii``."""
    # Reserved for fiction: example.* domains (RFC 2606), 555-01xx (NANP), Ofcom's and ACMA's drama ranges.
    first, last = rng.choice(PII.first_names), rng.choice(PII.last_names)
    area = rng.choice(PII.area_codes)
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
    mention = "u/" + authors.name(authors.pick(rng))[0]
    url = rng.choice(
        (
            f"https://{first}{last}.example.com",
            f"https://www.linkedin.com/in/{first}-{last}-{rng.randint(1000, 9999)}",
            f"https://calendly.com/{first}-{last}/30min",
        )
    )
    template = rng.choice(templates)
    for key, value in (("email", email), ("phone", phone), ("mention", mention), ("link", url)):
        if "{" + key + "}" in template:
            pii.append(value)
    return template.format(email=email, phone=phone, mention=mention, link=url)


def comment_text(
    rng: random.Random, post_kind: str, is_reply: bool, profile: SubredditProfile, topic: Topic, authors: AuthorPool
) -> str:
    """What a person comments on a post of ``post_kind``, directly or in reply to another comment."""
    tool, tool2 = rng.sample(topic.tools, 2)
    fill = {"tool": tool, "tool2": tool2, "task": rng.choice(topic.tasks)}
    if is_reply:
        text = rng.choice(COMMENTS.replies).format(**fill)
    elif profile.titles_only and post_kind != "problem":
        text = rng.choice(COMMENTS.ask_answers)
    elif post_kind == "problem" and rng.random() < 0.7:
        text = rng.choice(COMMENTS.on_problem).format(**fill)
    else:
        text = rng.choice(COMMENTS.generic)
    if rng.random() < _PII_SHARE_COMMENTS:
        text = f"{text} {pii_sentence(rng, PII.comment_templates, [], authors)}"
    if rng.random() < _UNICODE_SHARE * 0.5:
        text = f"{text} {rng.choice(UNICODE.signoffs)}"
    return text
