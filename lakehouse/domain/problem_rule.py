"""The problem-post rule: does a post describe a problem someone would want solved?

One implementation, versioned, used by ingestion (which posts deserve their comments) and by
processing (the ``is_problem`` flag and its ``problem_signals``). A problem post describes a
problem, pain point, unmet need or obstacle its author has, or asks for a tool, a way or help to
overcome one. The seeds' bare keyword list fired on "no problem!" and missed "is there a tool
that..."; this rule reads phrases instead, in four families (the signals):

- request: asks for a tool, a way, a recommendation or an alternative ("is there a tool/way",
  "looking for a", "any recommendations", "what do you use for", "please fix");
- help: asks for help with the author's own situation ("how do I", "can anyone help", "what
  should I do?", "any ideas", "I don't know how to", "thanks in advance", a how-to title), or puts
  the author's predicament to others' judgement ("what is reasonable?", "is this normal?", "anyone
  else have this issue?");
- pain: trouble ("I'm struggling", "keeps crashing", "doesn't work", an error or exception, a
  title naming a bug), a predicament with clients, money or a crisis ("refusing to pay the
  invoice", "zero sales so far", "our site got hacked") or a complaint ("annoying", "a hassle",
  "is killing me", "I lose hours");
- wish: an unmet need ("I wish there was", "why is there no", "I'd happily pay for").

Negations and idioms that only look like problems ("no problem", "I don't need help", "pain au
chocolat", "can't wait") are removed before matching, and so are links and r/startups' mandatory
"I will not promote". The words alone do not decide: each family found adds a weight; a title that
itself asks or names a failure, the author speaking in the first person, a question mark, a pain said
twice over and a pain that keeps coming back ("every month") add one each; and two shapes of post
that borrow the words without having a problem take weight away or veto: announcements (changelogs,
AMAs, "we've launched...") and discussion questions ("What's your...?", "Why do people...?") whose
title neither asks, nor fails, nor speaks of the author, unless the author asks for help in the body.

It runs on every processed post (a Spark UDF over ~1M rows), so it is built for speed: text is
normalised once to lower-case words separated by single spaces, every pattern starts with a literal
space (the regex engine then skips straight to candidate positions instead of testing a word
boundary at every character), and bodies are read up to a bound (head and tail).

Where the phrases say no, a learned model (``problem_model``) may still flag a post told as a situation
(a fifth signal, ``learned``). Bump ``RULE_VERSION`` whenever the behaviour of either changes (new
phrases, new weights): processed rows record it. The benchmark in
``bench/problem_rule`` measures the rule against real posts judged by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lakehouse.domain import problem_model
from lakehouse.domain.patterns import REMOVED_MARKERS

RULE_VERSION = "2026.12.2"

# Problems are stated at the start and asked about at the end; the middle of a long post adds cost.
_BODY_HEAD = 1000
_BODY_TAIL = 400
_WEIGHTS = {"request": 3, "help": 3, "pain": 2, "wish": 3}
_THRESHOLD = 4
LEARNED = "learned"  # the signal of a post the phrases missed and the learned model admitted
_PENALTY = 3


def _words(*alternatives: str) -> re.Pattern[str]:
    """One pattern of alternatives, each anchored on the space before its first word.

    The alternatives are regrouped by their first letter ("i(?:'m|...)|w(?:e are|...)"), so that at
    each space the engine tries only those that can start there instead of every one in turn: the
    same match starts, two to three times faster. ``WRITTEN`` keeps them as written (a test compares).
    """
    pattern = re.compile(" (?:" + "|".join(_by_first_letter(alternatives)) + ")")
    WRITTEN[pattern] = alternatives
    return pattern


WRITTEN: dict[re.Pattern[str], tuple[str, ...]] = {}
_QUANTIFIERS = frozenset("?*+{")


def _by_first_letter(alternatives: tuple[str, ...]) -> list[str]:
    """``alternatives`` with those that start with a literal letter grouped under it, the rest after them.

    A leading group of plain words ("(?:it|this|that) fails") is first spread into one alternative a
    word ("it fails", "this fails", ...) so that its words can be grouped too.
    """
    groups: dict[str, list[str]] = {}
    others: list[str] = []
    for alternative in (spread for written in alternatives for spread in _spread(written)):
        first = alternative[0]
        if (first.isalnum() or first == "'") and alternative[1:2] not in _QUANTIFIERS:
            groups.setdefault(first, []).append(alternative[1:])
        else:
            others.append(alternative)
    return [f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items()] + others


def _spread(alternative: str) -> list[str]:
    """``(?:a|b c)rest`` as ``[a rest, b c rest]`` when the group holds only plain alternatives."""
    if not alternative.startswith("(?:"):
        return [alternative]
    end = alternative.find(")")
    inner, rest = alternative[3:end], alternative[end + 1 :]
    if any(char in inner for char in "([\\") or rest[:1] in _QUANTIFIERS:
        return [alternative]
    return [word + rest for word in inner.split("|")]


# What people ask for when they ask for a tool or a way ("is there a ___", "I need a ___").
_THING = (
    r"(?:tool|app|application|program|software|service|site|website|library|package|module|plugin|extension|"
    r"platform|way|method|function|solution|alternative|api|fix|workaround|setting|option|chart|guide|resource|"
    r"product|script|bot|equivalent|endpoint|command|request|trick|template|system|wrapper|client|framework|editor|"
    # services and the people who provide them: a small business asks for these as often as for software
    r"crm|erp|bookkeeper|accountant|developer|designer|freelancer|agency|consultant|vendor|provider|host|hosting|"
    r"lawyer|processor|gateway|integration|automation)s?\b"
)
_TAG = r"^\s*(?:\[[^\]]*\]\s*)?"  # an optional leading "[PRAW]" on a raw title

_LINKS = re.compile(r"https?://\S+|www\.\S+|\]\([^)\s]*\)")
# Anything but letters, digits, apostrophes and sentence punctuation separates words (a table is the
# fastest way for ASCII text, the pattern for the rest).
_SEPARATORS = re.compile(r"[^\w'?!.,:;]+")
_ASCII_SEPARATORS = str.maketrans(dict.fromkeys('"#$%&()*+-/<=>@[\\]^`{|}~', " "))
_NOISE = _words(
    r"(?:no|not a|not any|without a|without any) (?:problem|issue|worrie)s?\b",
    r"(?:don'?t|do not|doesn'?t|not|never|no) (?:need|want|looking for|asking for) (?:any |your )?(?:help|advice)\b",
    r"no help\b",
    r"pain au chocolat\b",
    r"growing pains\b",
    r"paint\w*",
    r"can'?t (?:wait|believe|stop laughing|help (?:but|it|myself))\b",
    r"wish(?:es)? (?:you|u|him|her|them|everyone|y'all|me luck)\b",
    r"best wishes\b",
    r"wish ?list\b",
    r"bug (?:bounty|spray)\b",
    r"i will not promote\b",  # r/startups makes every title say it
)

_REQUEST = _words(
    rf"is there (?:a|an|any|some) (?:[\w-]+ ){{0,3}}?{_THING}",
    r"is there (?:something|anything) (?:simple|that|which|to|out there|like)\b",
    rf"are there (?:any|some) (?:[\w-]+ ){{0,2}}?{_THING}",
    rf"(?:i|we) (?:really )?need (?:a|an|some) (?:[\w-]+ ){{0,2}}?{_THING}",
    r"(?:i'm|im|i am|i was|we're|we are|am|currently|just|really|been|also|now|still) looking for "
    rf"(?:a|an|some|any|help|advice|recommendations|suggestions|ways?|someone|somebody|(?:[\w-]+ )?{_THING})\b",
    r"(?:any|your) (?:good )?(?:recommendations|suggestions|alternatives)\b",
    r"recommend(?:ations?)? (?:for|on) (?:a|an|some|good|the best)\b",
    r"what(?:'s|s| is| are| would be) (?:the|a|some) (?:best|good|easiest|simplest|right|proper|correct|cheapest|"
    rf"fastest) (?:[\w-]+ )?(?:[\w-]+ )?{_THING}",
    r"(?<!your )(?:best|easiest|simplest|quickest|fastest|most efficient|cleanest|proper|right|correct) way (?:to|of)"
    r" [^?.!]*\?",
    r"what (?:do|would|should|can) (?:you|people|y'all|you guys|you all|i|we) use\b",
    rf"(?:best|cheapest|affordable|recommended) (?:[\w-]+ ){{0,3}}?{_THING} (?:for|to)\b",
    rf"what are (?:some|the|good) (?:[\w-]+ ){{0,2}}?{_THING} (?:that|to|for|i|we)\b",
    rf"what {_THING} (?:do|should|would|can) (?:you|i|we|people)\b",
    r"where (?:can|do|should|could|would) (?:i|we) (?:find|get|buy|start|look|learn)\b",
    r"(?:please|pls) fix\b",
    r"alternatives? ?\?",
)
_HELP = _words(
    r"how (?:do|can|could|should|would|am) (?:i|we)\b",
    r"how (?:do|are) (?:you|people|others|small teams|teams|folks)(?: all| guys)? (?:fix|solve|stop|avoid|deal|"
    r"dealing|handle|handling|manage|managing|cope|coping|get rid|get around|keep on top|keep track|stay on top|"
    r"prevent|preventing|protect|ensure|make sure|automate|automating|monitor|track|tracking|chase|chasing)\b",
    r"(?:please|pls|plz) help\b",
    r"help (?:needed|wanted|please|a noob|a newbie|a beginner)\b",
    r"(?:advice|guidance) (?:needed|wanted|please|required)\b",
    r"(?:seeking|requesting|want|wanted|asking for) (?:some |any |your )?(?:advice|help|guidance)\b",
    r"help (?:me|us)(?: (?:out|with|understand|fix|figure|find|solve|choose|decide|get|make|learn|improve)\b"
    r"|[.!?,;:]| ?$)",
    r"need (?:some |your |a little |any |urgent )?(?:help|advice|assistance|guidance)\b",
    r"any (?:help|advice|ideas?|tips|pointers|suggestions|guidance|insight|thoughts on (?:how|what|why))\b",
    r"(?:can|could|would|will) (?:someone|somebody|anyone|anybody|y'all|reddit) (?:please )?"
    r"(?:help|point|suggest|recommend|explain|tell|advise|direct|show)\b",
    r"(?:can|could|would) you(?: guys| all)? (?:please )?(?:help|recommend|suggest|advise|point me|"
    r"explain (?:to )?me|tell me|show me)\b",
    r"(?:does|do|did) (?:anyone|anybody|someone|any of you) (?:here )?(?:know|have (?:any|an) idea)",
    r"anyone (?:knows?|have (?:any|an) idea)\b",
    r"what (?:should|can|do|would|shall) (?:i|we) do(?: (?:now|next|here|then|about (?:it|this|that)))?"
    r"(?:[?!.,]| ?$)",
    r"wtf do i do\b",
    r"what (?:should|can|could) (?:i|we) do to (?:prevent|stop|avoid|fix|protect|handle|solve|deal)\b",
    r"what (?:else )?(?:must|should|do) (?:i|we) (?:need to )?(?:know|learn|study)\b",
    r"(?:don'?t|do not) know (?:what|how|where) to\b",
    r"(?:don'?t|do not) know what(?:'s| is) (?:wrong|going on|causing)",
    r"(?:not sure|no idea|no clue|unsure) (?:(?:how|what|where|whether) to|how (?:i|we)|why (?:it|this|my|i|the)"
    r"|what(?:'s| is) (?:wrong|causing|happening|going on))\b",
    r"am i (?:missing|doing) (?:\w+ ){0,2}?(?:something|anything|solution|trick|tool|way|step|setting)",
    r"what am i (?:doing wrong|missing)\b",
    r"(?:would|i'd|i would) love (?:to hear (?:how|what)|(?:some|any) (?:advice|tips|help|suggestions|"
    r"recommendations|ideas|input))",
    r"thanks?(?: you)? (?:in advance|for (?:any|your|the) (?:help|advice|info|input|answers)|ahead)\b",
    r"help[!?]",
    r"is it possible (?:to|for me)\b",
    # the author's predicament put to others' judgement: "what is reasonable?", "is this normal?"
    r"what(?:'s| is| are) (?:reasonable|normal|fair|typical|standard|the norm)[^.!?]{0,30}\?",
    r"what(?:'s| is| are) (?:the )?(?:usual|standard|typical|normal|common|best) (?:[\w-]+ ){0,2}?practices?\b",
    r"is (?:this|it|that) (?:normal|reasonable|fair|unfair|legit|legal|common)\b[^.!?]{0,40}\?",
    r"am i (?:being )?(?:unreasonable|unfair|wrong|crazy|overreacting|paranoid|too \w+)\b",
    r"is (?:this|it|that) something (?:i|we) (?:should|could|need|must)\b",
    r"(?:anyone|anybody) else (?:have|having|had|experiencing|seeing|get|getting|run into|running into|noticed?)"
    r" (?:this|the same|a similar|similar|that|these) (?:issue|problem|trouble|bug|error|glitch)s?\b",
)
_PAIN = _words(
    r"(?:i'm|im|i am|i've been|ive been|i have been|i was|i feel|i'm feeling|we're|we are|we've been) "
    r"(?:really |so |still |constantly |completely |kinda |kind of )?(?:struggl\w*|stuck|frustrated|fed up|"
    r"sick of|tired of|burn(?:ed|t|ing) out|at a loss|lost|confused|worried|overwhelmed|desperate|screwed|"
    r"fucked|being bullied|"
    r"having (?:a |some |real |lots of )?(?:problem|issue|trouble|difficult|hard time)\w*)",
    r"(?:i|we) (?:really |still )?(?:struggle|dread|can'?t stand)\b",
    r"(?:frustrat\w+|fed up|sick and tired|annoyed) (?:with|by|of|at)\b",
    # predicaments with clients and money, and crises told without a pain word
    r"(?:client|customer)s? (?:won'?t|refuses? to|refused to|didn'?t|hasn'?t|never|still hasn'?t) (?:pay|paid"
    r"|respond|responded|reply|replied)\b",
    r"(?:haven'?t|have not|still not|not yet) (?:been )?paid\b",
    r"cash ?flow (?:problem|issue|crunch|crisis|is)\b",
    r"refus(?:e|es|ed|ing) to pay\b",
    r"(?:not|never|doesn'?t|does not|won'?t|didn'?t) pay(?:ing)? (?:the |my |our |an? |their )?(?:\S+ )?invoices?\b",
    r"ghosted (?:me|us)\b",
    r"here(?:'s| is) (?:the|my|our) (?:problem|issue|dilemma|predicament)\b",
    r"now (?:to|for|on to) the (?:problem|issue)\b",
    r"(?:my|our) (?:dilemma|predicament)\b",
    r"(?:server|site|prod|production|database|db|website|app|email|account)s? (?:is |are |went |was |got |has been )?"
    r"(?:down|offline|hacked|compromised|suspended|banned)\b",
    r"(?:we|i) (?:got|were|was|have been|just got|'ve been) (?:hacked|breached|scammed|ripped off|sued)\b",
    r"(?:ransomware|data loss)\b",
    # a product nobody buys
    r"(?:zero|no|0) (?:sales|signups|sign ups|paying (?:users|customers)|customers|traction|conversions|revenue)"
    r"(?: yet| after| so far| in| since| at all)\b",
    r"no ?(?:one|body) (?:is )?(?:signing up|signs up|buys|buying|pays|paying|converts|converting|uses it|using it)\b",
    r"(?:this is|that's|that is) (?:when|where) (?:the |my |our )?(?:problems?|issues?|trouble) (?:have |had )?"
    r"(?:start|began|begin)",
    r"lost (?:all|our|my|half (?:of )?(?:our|my)) (?:data|files|customers|clients|revenue|sales)\b",
    r"(?:having|have|had|facing|run into|running into) (?:a |an |some |real |the same )?"
    r"(?:problem|issue|trouble|difficulty|difficulties|hard time)s? (?:with|when|while|getting|using|trying|to|on"
    r"|in)\b",
    r"(?:my|the only|our) (?:problem|issue) is\b",
    r"therein lies my problem\b",
    r"caus(?:es|ed|ing) (?:an? |some )?(?:issue|problem|error|crash)s? (?:with|for|in|on) my\b",
    r"(?<!you )(?<!they )(?<!people )(?:keeps?|kept) (?:crashing|failing|breaking|freezing|returning|getting|giving|"
    r"happening|appearing|popping|showing|logging|timing|asking|throwing|messaging)\b",
    r"keep getting\b",
    r"(?:i|it|this|that|which|and|but) (?:can'?t|cannot|can not|couldn'?t|won'?t|isn'?t|wasn'?t) (?:seem to )?"
    r"(?:work|get|figure|find|understand|access|install|load|connect|log|make|do|seem|start|run|open|see|reply|fix"
    r"|afford|sign|create|be (?:installed|found|accessed))\b",
    r"(?:do|does|did)(?:n'?t| not) (?:seem to )?(?:work|load|start|run|connect|reply|install|compile|return)\b",
    r"(?:not|stopped|no longer) (?:working|loading|responding|showing up|replying)\b",
    r"no longer works\b",
    r"(?:i|i'm|im|i am|i was|it|it's|it is|we|we're|we are) unable to\b",
    r"(?:it|this|that|which|script|code|bot|app|request|call|install\w*|build|login|upload|download|update|query"
    r"|test|command|function|method|connection|page|server|job|sync) (?:keeps |always |still |silently )?"
    r"fail(?:s|ed|ing)?\b",
    r"fail(?:s|ed|ing)? with (?:an? )?(?:\w+ )?(?:error|exception)",
    r"(?:exception|traceback|forbidden|errno|insufficient_?scope|has no attribute|is not defined|permission denied"
    r"|access denied|timed out)\b",
    r"\d{3} (?:error|client error|bad request)\b",
    r"error (?:\d{3}|message|code)\b",
    r"(?:i|we) (?:get|got|getting|receive|keep getting) (?:an? |this |the |same )?(?:\w+ )?(?:error|exception"
    r"|crash|message)",
    r"(?:is|are|seems?|looks?|got|gets) (?:completely |totally )?broken\b",
    r"broken ?\?",
    r"what(?:'s| is) (?:wrong|going on) (?:with (?:my|it|this|that|the)\b|here\b)",
)
# An exception's name ("TypeError", "OAuthException"): the literal comes first so the scan stays fast.
_ERROR_NAME = re.compile(r"error(?<=\werror)\b|exception(?<=\wexception)\b")
# A title naming a failure: "Stacking error in...", "Bug report: ...", "Problem with ...".
_PAIN_TITLE = _words(
    r"(?:error|bug|crash(?:es|ing)|broken|not working|glitch|exception)s?\b",
    r"fail(?:s|ed|ing)? (?:for|on|when|after|to (?:load|start|run|install|connect|build|compile|work))\b",
    r"(?:problem|issue|trouble)s? (?:with|using|when|while|after|regarding|on|in|getting)\b",
)
_COMPLAINT = _words(
    r"(?:annoying|infuriating|frustrating|tedious|error prone|a nightmare|pain in the|pain point|bloated|unusable"
    r"|clogging|too expensive|killing me|drives? me (?:crazy|nuts|insane)|painful|brutal)\b",
    r"a (?:huge |real |total )?(?:hassle|headache|pain)\b",
    r"ruin(?:s|ed|ing) my\b",
    r"i dread\b",
    r"(?:wast(?:e|ing|ed)|los(?:e|ing)) (?:about |so much |\d+ |hours|days|my time|time|money)",
    r"(?:is|are|it's|its) (?:a|such a|an absolute|a complete|a total) (?:mess|nightmare|hassle|headache)\b",
    r"(?:still )?so (?:hard|difficult|painful|complicated|confusing|expensive) (?:to|in|for|when)\b",
    r"(?:every|each) (?:day|week|month|time|morning|year) (?:the )?same (?:problem|issue)s?\b",
    r"same (?:problem|issue)s? (?:again|every (?:day|week|month|time))\b",
)
# A pain that comes back ("every month", "again and again"): with a pain found, it weighs one more.
_RECURRING = _words(
    r"every (?:single )?(?:day|week|month|time|morning|night|year|quarter|monday|friday)\b",
    r"(?:over and over|again and again|all the time|constantly)\b",
)
_WISH = _words(
    r"wish (?:there (?:was|were|is|existed)|(?!(?:i|we|you|he|she)\b)\w+ (?:would|could|offered|supported"
    r"|had a))",
    r"wouldn'?t it be (?:great|nice|cool|awesome|good) if\b",
    r"why (?:is|are) there (?:no|not)\b",
    r"why (?:isn'?t|aren'?t) there (?:a|any)\b",
    r"why (?:is )?there(?:'s| is)? still (?:no|not)\b",
    r"someone (?:should|needs to|has to) (?:build|make|create)\b",
    r"there should be (?:a|an)\b",
    r"if only there\b",
    r"there (?:has to|have to|ought to|must) be (?:a|an) (?:better|easier|simpler)\b",
    r"(?:i'd|i would|we'd|we would) (?:happily |gladly |definitely )?pay\b",
    r"feature request\b",
    r"(?:please|pls) (?:add|allow|support|make it possible)\b",
    r"it would be (?:nice|great|helpful|useful|awesome) (?:if|to have)\b",
)
_FIRST_PERSON = _words(r"(?:i|i'm|im|i've|ive|i'd|my|me|mine|myself)\b")

# Read on the raw (lower-cased) title, where "[tags]" and the title's start are still visible.
_LOOKING_TITLE = re.compile(rf"{_TAG}looking\s+for\b")
_HELP_TITLE = re.compile(
    rf"{_TAG}help\b"
    r"|what\s+(?:to|should\s+i|do\s+i|should\s+we)\s+do\s*[.!?]*\s*(?:i\s+will\s+not\s+promote\s*)?$"
    r"|help(?<!\whelp)(?<!for help)(?<!to help)(?<!send help)(?<!of help)(?<!the help)(?<!with help)\s*[.!?]*\s*$"
)
_HOW_TO_TITLE = re.compile(rf"{_TAG}how\s+(?:to|(?:can|do|could|should|would)\s+(?:i|we|to|one))\b")
_STATE_TITLE = re.compile(rf"{_TAG}(?:struggling|stuck|frustrated|fed\s+up|sick\s+of|tired\s+of)\b")
# Announcements, AMAs, changelogs and stats borrow the words ("we fixed a long-standing issue"). Not
# "Update:", which on Reddit mostly opens an author's follow-up on their own problem.
_ANNOUNCEMENT_TITLE = re.compile(
    r"^\s*\[(?:reddit\s+change|announcement|psa|meta|mod\s*post)\]"
    r"|^\s*(?:introducing|announcing|psa\b|moderators:|css\s+change|api\s+announcement|subreddit\s+stats:"
    r"|reminder:|new\s+feature|howto:|tutorial:|guide:)"
)
_ANNOUNCEMENT_WORDS = _words(r"(?:ama|amaa|iama|ask me anything|megathread)\b")
_ANNOUNCEMENT_BODY = _words(
    r"we(?:'re| are) (?:excited|happy|proud|pleased|thrilled|delighted|announcing|introducing|launching"
    r"|releasing|rolling)\b",
    r"we(?:'ve| have) (?:just |now |recently |also )?(?:added|launched|released|rolled out|shipped|updated"
    r"|implemented|introduced|been (?:hard at )?work|been busy|made (?:a|some|several) change)",
    r"see the code for (?:this|these) change",
    r"i am a bot\b",
)
# A question for discussion (when the title has a "?"): about the world ("Why do people...?") or put to
# the crowd ("What's your...?", "Redditors who...?").
_DISCUSSION = re.compile(
    rf"{_TAG}(?:what|which|who|whom|whose|why|when|where|how|would|should|if|do|does|did|is|are|was|were|have"
    r"|has|can|could|will)\b"
)
_CROWD = _words(r"(?:you|your|you've|you're|yours|y'all|redditors|people who|those who|of reddit|anyone else)\b")


@dataclass(frozen=True, slots=True)
class ProblemMatch:
    is_problem: bool
    signals: tuple[str, ...]


def match_problem(title: str | None, body: str | None, learned: bool = True) -> ProblemMatch:
    """Classify a post by its title and body (either may be missing, ``[removed]`` or ``[deleted]``).

    A post is a problem post when its phrases say so or, failing that, the learned model does (then
    its signals end with ``"learned"``); ``learned=False`` asks the phrases alone (for measuring).
    """
    raw_title = _lower(title)
    head = _normalise(raw_title)
    rest = _normalise(_content(body))
    match = _match_phrases(raw_title, head, rest)
    if match.is_problem or not learned or not problem_model.says_problem(head, rest):
        return match
    return ProblemMatch(is_problem=True, signals=(*match.signals, LEARNED))


def _match_phrases(raw_title: str, head: str, rest: str) -> ProblemMatch:
    """The phrases' verdict, on the lower-cased title and the normalised title and body."""
    text = head + rest
    in_head = len(head)

    # One scan per family over title and body: the first match tells whether the title has it too.
    request, help_, wish = _REQUEST.search(text), _HELP.search(text), _WISH.search(text)
    pain, complaint = _PAIN.search(text), _COMPLAINT.search(text)
    how_to = _HOW_TO_TITLE.search(raw_title) is not None and (
        _FIRST_PERSON.search(rest) is not None or ("?" in head and rest.strip() != "")
    )
    title_help = how_to or _HELP_TITLE.search(raw_title) is not None
    title_request = _LOOKING_TITLE.search(raw_title) is not None or _starts_in(request, in_head)
    title_asks = title_help or title_request or _starts_in(help_, in_head) or _starts_in(wish, in_head)
    title_fails = (
        _starts_in(pain, in_head) or _PAIN_TITLE.search(head) is not None or _STATE_TITLE.search(raw_title) is not None
    )
    title_hurts = title_fails or _starts_in(complaint, in_head)
    found = {
        "request": title_request or request is not None,
        "help": title_help or help_ is not None,
        "pain": title_hurts or pain is not None or complaint is not None or _ERROR_NAME.search(rest) is not None,
        "wish": wish is not None,
    }
    signals = tuple(name for name, hit in found.items() if hit)
    if not signals or _ANNOUNCEMENT_TITLE.search(raw_title) or _ANNOUNCEMENT_WORDS.search(head):
        return ProblemMatch(is_problem=False, signals=signals)

    title_first_person = _FIRST_PERSON.search(head) is not None
    first_person = title_first_person or _FIRST_PERSON.search(rest) is not None
    score = sum(_WEIGHTS[name] for name in signals) + title_asks + title_hurts + first_person + ("?" in text)
    if found["pain"]:  # said twice over (two troubles, or a trouble and a complaint), or coming back
        twice = pain is not None and (complaint is not None or _PAIN.search(text, pain.end()) is not None)
        score += twice + (_RECURRING.search(text) is not None)
    if _ANNOUNCEMENT_BODY.search(text):
        score -= _PENALTY
    if (
        "?" in head
        and not (title_asks or title_fails or title_first_person)
        and not (help_ is not None and _FIRST_PERSON.search(rest) is not None)
        and (_DISCUSSION.search(raw_title) or _CROWD.search(head))
    ):
        score -= _PENALTY
    return ProblemMatch(is_problem=score >= _THRESHOLD, signals=signals)


def is_problem(title: str | None, body: str | None) -> bool:
    return match_problem(title, body).is_problem


def normalised(title: str | None, body: str | None) -> tuple[str, str]:
    """The title and the body as the phrases and the model read them (what the model is trained on)."""
    return _normalise(_lower(title)), _normalise(_content(body))


def _lower(title: str | None) -> str:
    return (title or "").lower().replace("\u2019", "'")


def _starts_in(match: re.Match[str] | None, end: int) -> bool:
    return match is not None and match.start() < end


def _content(body: str | None) -> str:
    if body is None or body.strip() in REMOVED_MARKERS:
        return ""
    body = body.lower().replace("\u2019", "'")
    if len(body) > _BODY_HEAD + _BODY_TAIL:
        return body[:_BODY_HEAD] + " " + body[-_BODY_TAIL:]
    return body


def _normalise(text: str) -> str:
    """Lower-cased words, single spaces, a space before every word and at the end; links and idioms gone."""
    if "http" in text or "www." in text or "](" in text:
        text = _LINKS.sub(" ", text)
    text = " ".join(text.translate(_ASCII_SEPARATORS).split()) if text.isascii() else _SEPARATORS.sub(" ", text)
    return _NOISE.sub(" ", " " + text + " ")
