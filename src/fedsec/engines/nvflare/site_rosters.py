"""A site's bound on its secure statistics across jobs: one data set, one set of contributors.

A secure sum hides each site's statistics, not what two sums over different sets of sites
combine to: a coordinator summing them over {A, B, C, D, E} in one job and over {B, C, D, E} in
another (or faking A's dropout in the second sum) subtracts A's exact statistics, its rows per
attack family included. Within a job a site already reveals its second pass only over the
survivors of the first; across jobs its process, and its memory, are new.

Under ``[privacy] statistics_rosters = "same"`` (the default) a site records in its ledger file
(:mod:`~fedsec.engines.nvflare.ledger_file`), at the reveal step of every secure statistics sum
(the preprocessing passes, benign rows or all, and a logs job's vocabulary) and before it
reveals a share, the survivors it is unmasked over, keyed by a digest of the files the sum's
rows come from. A sum of the same data over any other set of sites is refused, early (the
request asks a different number of sites) or at confirmation and reveal, whatever the view,
rows, columns or stage asked: a sum over the same sites again adds nothing a linear
combination could isolate. Why no combination can: say sums of unchanged data isolated A, the
combined sums holding A each with coefficient c_j. A's sums are all over one set R (its rule)
of at least two sites; another site B of R, its data unchanged, was summed over R only (its
rule), so B's coefficients, those of the sums over R, add up to 0, and A's, the same sums, to 1.

Changed files make a new digest, so a new first sum. ``"pinned"`` keeps one set of sites for
every statistics sum of the site whatever its data (the coordinator then cannot even wait for
the others' data to change); ``"any"`` opts out. The digest is taken before the files are read
for a job, so the rows a sum holds are never older than its key.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO

from fedsec.engines.nvflare.ledger_file import LedgerFile
from fedsec.engines.nvflare.plan import PlanRefused
from fedsec.engines.nvflare.site_config import SiteConfig
from fedsec.scenarios.federation import resolve_data_dir, resolve_paths

#: The key of every statistics sum of a site under ``statistics_rosters = "pinned"``.
ANY_DATA = "any data"
_MODULUS = 1 << 256

Pin = Callable[[list[str]], None]


class StatisticsRosters:
    """The sites this site's secure statistics were summed over, per data set. ``file`` is its
    ledger file; without one (a site object outside a deployment) this process remembers."""

    def __init__(self, config: SiteConfig, base: Path, file: LedgerFile | None) -> None:
        self.config, self.base, self.file = config, Path(base), file
        self.rule = config.privacy.statistics_rosters
        self.keys: dict[str, str] = {}  # view -> digest of the files it was read from
        self.memory: dict[str, list[str]] = {}

    def observe(self, view: str) -> None:
        """Digest the files ``view`` reads, before they are read for this job."""
        if self.rule == "same" and view not in self.keys:
            self.keys[view] = data_digest(self.config, self.base, view)

    def key(self, view: str) -> str | None:
        """What this site's statistics of ``view`` are recorded under (None: not recorded)."""
        if self.rule == "any":
            return None
        return ANY_DATA if self.rule == "pinned" else self.keys[view]

    def admit(self, view: str, sampled: int) -> tuple[list[str] | None, Pin | None]:
        """For a secure statistics sum over ``sampled`` sites of ``view``'s rows: the only
        sites it may be unmasked over (None: any), and what records its survivors."""
        key = self.key(view)
        if key is None:
            return None, None
        earlier = self.memory.get(key) if self.file is None else self.file.contributors(key)
        if earlier is not None and sampled != len(earlier):
            raise PlanRefused(refusal(self.config.name, earlier))
        return earlier, partial(self.pin, key)

    def pin(self, key: str, survivors: list[str]) -> None:
        """Record ``survivors`` for ``key`` unless other sites were (then refuse to reveal)."""
        survivors = sorted(survivors)
        if self.file is None:
            earlier = self.memory.setdefault(key, survivors)
        else:
            earlier = self.file.pin(key, survivors)
        if earlier != survivors:
            raise PlanRefused(refusal(self.config.name, earlier))


def refusal(site: str, earlier: list[str]) -> str:
    return (
        f"statistics refused: site {site}'s statistics were summed over {earlier} before, "
        "and it sums them again only over exactly those sites (a sum over other sites would "
        "expose the difference; its [privacy] statistics_rosters)"
    )


def data_digest(config: SiteConfig, base: Path, view: str) -> str:
    """A digest of the lines of the files ``view``'s training rows come from (flow files, or
    log sessions with their templates and labels; not a fixed test set), whatever their names
    and the order of their rows: the same data under any view, rows or columns have one
    digest."""
    if view == "sessions":
        sources = config.logs.sources if config.logs is not None else []
        extra = [f for s in sources for f in (s.templates, s.labels) if f is not None]
        patterns = [p for s in sources for p in s.paths] + extra
    else:
        patterns = [p for s in config.sources for p in s.paths]
    files = resolve_paths(patterns, resolve_data_dir(base, patterns))
    contents = sorted({_file_digest(path) for path in files})
    return hashlib.sha256("\n".join(contents).encode()).hexdigest()


def _file_digest(path: Path) -> str:
    """A digest of the file's lines as a multiset (gzip opened, line endings and blank lines
    ignored): the same rows exported again in another order, with CRLF or gzipped afresh (gzip
    stores a time) keep their key, or the others' nightly re-exports would each be "new data"
    and free them to be summed over other sites (a review showed the bytes' digest did).
    Additive multiset hash: the sum of each line's blake2b digest modulo 2**256."""
    total = 0
    try:
        with _lines(path) as lines:
            for line in lines:
                line = line.rstrip(b"\r\n")
                if line:
                    digest = hashlib.blake2b(line, digest_size=32).digest()
                    total = (total + int.from_bytes(digest, "big")) % _MODULUS
    except (OSError, EOFError, zlib.error) as error:
        raise PlanRefused(f"statistics refused: cannot read {path}: {error}") from None
    return f"{total:064x}"


def _lines(path: Path) -> BinaryIO:
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")
