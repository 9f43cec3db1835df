"""The Striven → Onfleet team rule as a pure function (issue 5, rule 7). No I/O here.

`decide`: an Onfleet team's membership follows Striven for linked drivers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class MembershipChange:
    """Onfleet workers to add to and remove from one team, and its resulting member list."""

    add: tuple[str, ...]
    remove: tuple[str, ...]
    workers: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Whether the Onfleet team needs a write."""
        return bool(self.add or self.remove)


def decide(
    striven_members: Iterable[int],
    onfleet_members: Iterable[str],
    linked: Mapping[int, str],
) -> MembershipChange:
    """Rule 7: membership follows Striven for linked drivers; other Onfleet members stay.

    `linked` maps Striven employee ids to their Onfleet worker ids.
    """
    current = list(dict.fromkeys(onfleet_members))
    wanted = list(dict.fromkeys(linked[e] for e in striven_members if e in linked))
    ours = set(linked.values())
    add = tuple(w for w in wanted if w not in current)
    remove = tuple(w for w in current if w in ours and w not in wanted)
    workers = tuple(w for w in current if w not in remove) + add
    return MembershipChange(add, remove, workers)
