"""A list that says when it is cut: the items shown and how many there are in all.

Every door that shows part of a list (a CLI ``--limit``, a page's cap) says
"showing 20 of 1,005 reports" instead of cutting in silence; ``note`` is that sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Listing(Generic[T]):
    """``items``: what is shown (newest first, as the service orders them); ``total``: how
    many there are in all, counted in the same read as the items."""

    items: Sequence[T]
    total: int

    @property
    def cut(self) -> bool:
        """True when items exist that are not in ``items``."""
        return len(self.items) < self.total

    def note(self, noun: str) -> str:
        """``"showing 20 of 1,005 reports"``; ``""`` when nothing is left out."""
        if not self.cut:
            return ""
        return f"showing {len(self.items):,} of {self.total:,} {noun}"


def check_limit(limit: int | None, option: str = "--limit") -> int | None:
    """``limit`` as given (None: no limit); a negative one is refused.

    Raises:
        InvalidInput: ``limit`` is below 0.
    """
    from workbench.store.errors import InvalidInput

    if limit is not None and limit < 0:
        raise InvalidInput(
            f"{option} must be 0 or more; got {limit}. Leave it out (or use "
            "--all on the command line) to see every one."
        )
    return limit
