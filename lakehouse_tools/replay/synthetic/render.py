"""Posts and comments as Reddit's API sends them at a virtual ``now``, built from their plans."""

from __future__ import annotations

import math
import random
import uuid

from lakehouse.domain.patterns import REMOVED_MARKERS
from lakehouse_tools.replay.corpus import JsonObject
from lakehouse_tools.replay.synthetic.ids import SALT_COMMENT, comment_id_of, mix, text_hash, to_base36
from lakehouse_tools.replay.synthetic.markup import markdown_html, slug
from lakehouse_tools.replay.synthetic.plans import CommentPlan, PostContext, PostPlan
from lakehouse_tools.replay.synthetic.vocabulary import COMMENTS, load
from lakehouse_tools.replay.synthetic.writing import comment_text

_REMOVED, _DELETED = REMOVED_MARKERS

_WIRE_KEYS = load("wire_keys")
# The keys in the order Reddit sends them.
_SUBMISSION_KEYS: tuple[str, ...] = _WIRE_KEYS["submission"]
_COMMENT_KEYS: tuple[str, ...] = _WIRE_KEYS["comment"]
# Reddit drops these keys, rather than nulling them, once an author is gone.
_AUTHOR_ONLY_KEYS = frozenset(_WIRE_KEYS["author_only"])


def grown(final: int, age: float, tau: float) -> int:
    """A score that starts at 1 and approaches ``final``: monotone in age, so monotone in ``now``."""
    if age <= 0 or final <= 1:
        return 1 if final >= 1 else final
    return 1 + int((final - 1) * (1.0 - math.exp(-age / tau)))


def render_post(post: PostContext, plan: PostPlan, num_comments: int, now: float) -> JsonObject:
    """The t3 ``data`` object of a post at ``now``, with ``num_comments`` of its comments visible."""
    profile, topic, post_id, created, seed, k = post.profile, post.topic, post.post_id, post.created, post.seed, post.k
    name = profile.name
    permalink = f"/r/{name}/comments/{post_id}/{slug(plan.title)}/"
    gone = plan.fate is not None and plan.fate_at <= now
    deleted = gone and plan.fate == "deleted"
    removed = gone and plan.fate == "removed"
    author, author_fullname = (_DELETED, "") if deleted else post.authors.name(plan.author)
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
    score = grown(plan.final_score, now - created, plan.score_tau)
    nsfw, spoiler = plan.over_18, plan.spoiler
    flair = profile.flairs[plan.flair] if plan.flair >= 0 else None
    flair_hash = text_hash(f"{name}/{flair}")
    author_flair = None
    if not deleted and plan.author >= 0 and topic.author_flairs and mix(seed, plan.author, post.owner) % 9 == 0:
        author_flair = topic.author_flairs[mix(plan.author, post.owner) % len(topic.author_flairs)]
    if nsfw:
        thumbnail = "nsfw"
    elif spoiler:
        thumbnail = "spoiler"
    elif is_self:
        thumbnail = "self"
    elif plan.post_hint == "image":
        thumbnail = f"https://b.thumbs.redditmedia.com/{to_base36(mix(seed, k, 11))}.jpg"
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
        "author_premium": plan.author >= 0 and mix(seed, plan.author, 3) % 20 == 0,
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
        "selftext_html": f"<!-- SC_OFF -->{markdown_html(selftext)}<!-- SC_ON -->" if selftext else None,
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
        "subreddit_id": post.subreddit_id,
        "author_is_blocked": False,
        "mod_reason_by": None,
        "removal_reason": None,
        "link_flair_background_color": f"#{flair_hash % 0xFFFFFF:06x}" if flair else "",
        "id": post_id,
        "is_robot_indexable": not gone,
        "report_reasons": None,
        "author": author,
        "discussion_type": None,
        "num_comments": num_comments,
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
        data["link_flair_template_id"] = str(uuid.UUID(int=mix(flair_hash, 1) << 64 | mix(flair_hash, 2)))
    if plan.post_hint is not None:
        data["post_hint"] = plan.post_hint
    if not is_self:
        data["url_overridden_by_dest"] = plan.url
    return {key: data[key] for key in _SUBMISSION_KEYS if key in data and not (deleted and key in _AUTHOR_ONLY_KEYS)}


def render_comment(
    post: PostContext, plan: PostPlan, thread: list[CommentPlan], j: int, comment_base: int, now: float
) -> JsonObject:
    """The t1 ``data`` object of comment ``j`` of a post at ``now``; its words are written here, from its own seed."""
    comment = thread[j]
    profile, post_id = post.profile, post.post_id
    comment_id = comment_id_of(comment_base, post.k, j)
    rng = random.Random(mix(post.seed, SALT_COMMENT, post.k, j))
    automod = comment.author < 0

    if automod:
        body = COMMENTS.automod.get(profile.automod_comment or "", COMMENTS.automod_fallback)
    else:
        body = comment_text(rng, plan.kind, comment.parent >= 0, profile, post.topic, post.authors)
    gone = comment.fate is not None and comment.fate_at <= now
    edited: float | bool = False
    if comment.edit_at <= now:
        edited = comment.edit_at
        body = f"{body}\n\nEdit: {rng.choice(COMMENTS.edit_notes)}"
    if gone:
        body = _DELETED if comment.fate == "deleted" else _REMOVED
    author, author_fullname = (_DELETED, "") if gone else post.authors.name(comment.author)
    score = grown(comment.final_score, now - comment.created, comment.score_tau)
    parent_id = f"t3_{post_id}" if comment.parent < 0 else "t1_" + comment_id_of(comment_base, post.k, comment.parent)
    data: JsonObject = {
        "subreddit_id": post.subreddit_id,
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
        "body_html": markdown_html(body),
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
        "permalink": f"/r/{profile.name}/comments/{post_id}/{slug(plan.title)}/{comment_id}/",
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
