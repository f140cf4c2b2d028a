"""Who writes: a pool of people with stable, distinct usernames, a few of whom write most of the posts."""

from __future__ import annotations

import random

from lakehouse_tools.replay.synthetic.ids import SALT_AUTHOR, mix, to_base36
from lakehouse_tools.replay.synthetic.vocabulary import USERNAMES

AUTOMODERATOR = "AutoModerator"
_AUTOMODERATOR_FULLNAME = "t2_6l4z3"
_STYLES = 4
_SPACE = _STYLES * len(USERNAMES.adjectives) * len(USERNAMES.nouns) * 10_000


class AuthorPool:
    """``size`` people numbered from 0; -1 stands for AutoModerator."""

    __slots__ = ("_offset", "size")

    def __init__(self, seed: int, size: int) -> None:
        self.size = size
        self._offset = mix(seed, SALT_AUTHOR) % _SPACE

    def name(self, a: int) -> tuple[str, str]:
        """(name, fullname) of pool member ``a``: distinct members get distinct names and fullnames."""
        if a < 0:
            return AUTOMODERATOR, _AUTOMODERATOR_FULLNAME
        adjectives, nouns = USERNAMES.adjectives, USERNAMES.nouns
        code = (a * 2_654_435_761 + self._offset) % _SPACE  # a bijection on [0, space)
        style, rest = code % _STYLES, code // _STYLES
        adj, rest = adjectives[rest % len(adjectives)], rest // len(adjectives)
        noun, number = nouns[rest % len(nouns)], rest // len(nouns)
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

    def pick(self, rng: random.Random) -> int:
        """Few people write most posts: a power law over the pool."""
        return int(self.size * rng.random() ** 2.5)
