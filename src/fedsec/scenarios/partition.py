"""Who holds what: seeded train/test splits and partitions of rows into organizations.

All functions are pure: arrays in, index arrays out, one ``numpy.random.Generator`` for chance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fedsec.data.taxonomy import BENIGN, family_order


def row_groups(frame: pd.DataFrame) -> np.ndarray:
    """One id per distinct feature vector (rows with identical features share an id)."""
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    _, ids = np.unique(hashes, return_inverse=True)
    return ids.astype(np.int64)


def grouped_split(
    groups: np.ndarray, strata: np.ndarray, test_size: float, rng: np.random.Generator
) -> np.ndarray:
    """Boolean test mask, stratified by ``strata``, never splitting a group across sides.

    A group goes with its majority stratum; each stratum sends whole groups to test until about
    ``test_size`` of its rows are there. A stratum with a single group stays in train.
    """
    counts = (
        pd.DataFrame({"group": groups, "stratum": strata.astype(str)})
        .value_counts(["group", "stratum"])
        .rename("rows")
        .reset_index()
        .sort_values(["group", "rows", "stratum"], ascending=[True, False, True])
    )
    size = counts.groupby("group")["rows"].sum()
    majority = counts.drop_duplicates("group").set_index("group")["stratum"]
    test_groups: list[int] = []
    for stratum in sorted(majority.unique(), key=str):
        members = majority.index[majority == stratum].to_numpy()
        if len(members) < 2:
            continue
        members = members[rng.permutation(len(members))]
        sizes = size.loc[members].to_numpy()
        target = test_size * sizes.sum()
        take = np.searchsorted(np.cumsum(sizes), target, side="right")
        take = int(np.clip(take, 1, len(members) - 1))
        test_groups.extend(members[:take].tolist())
    return np.isin(groups, np.asarray(test_groups, dtype=groups.dtype))


def stratified_split(strata: np.ndarray, test_size: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean test mask, row-level, stratified (the fallback when groups are too few)."""
    return grouped_split(np.arange(len(strata)), strata, test_size, rng)


def cap_rows(
    strata: np.ndarray, max_rows: int, rng: np.random.Generator, floor: int = 50
) -> np.ndarray:
    """Sorted row positions of a stratified sample of at most ~``max_rows`` rows.

    Each stratum keeps its share, but at least ``min(floor, its size)`` rows, so rare families
    survive the cap.
    """
    n = len(strata)
    if max_rows <= 0 or n <= max_rows:
        return np.arange(n)
    keep: list[np.ndarray] = []
    for stratum in pd.unique(strata):
        rows = np.flatnonzero(strata == stratum)
        quota = max(min(floor, len(rows)), round(len(rows) * max_rows / n))
        keep.append(rng.choice(rows, size=min(quota, len(rows)), replace=False))
    return np.sort(np.concatenate(keep))


def assign_families(
    attack_families: Sequence[str],
    sizes: dict[str, int],
    orgs: Sequence[str],
    overlap: int,
    rng: np.random.Generator,
) -> dict[str, list[str]]:
    """Attack family -> orgs holding it: each family at ``overlap`` orgs, rows balanced.

    Largest families are placed first, each on the orgs with the fewest rows so far (ties
    broken at random), so every org gets some attacks and none gets all.
    """
    overlap = min(overlap, len(orgs))
    load = dict.fromkeys(orgs, 0.0)
    owners: dict[str, list[str]] = {}
    tiebreak = dict(zip(orgs, rng.permutation(len(orgs)), strict=True))
    for family in sorted(attack_families, key=lambda f: (-sizes.get(f, 0), f)):
        chosen = sorted(orgs, key=lambda o: (load[o], tiebreak[o]))[:overlap]
        for org in chosen:
            load[org] += sizes.get(family, 0) / overlap
        owners[family] = chosen
    return owners


def owners_from_explicit(
    explicit: dict[str, list[str]], orgs: Sequence[str]
) -> dict[str, list[str]]:
    """Invert an explicit org -> families table (validated against the org names)."""
    unknown = sorted(set(explicit) - set(orgs))
    if unknown:
        raise ValueError(f"partition.families names unknown orgs: {unknown}")
    owners: dict[str, list[str]] = {}
    for org in orgs:
        for family in explicit.get(org, []):
            owners.setdefault(family, []).append(org)
    return owners


def partition_disjoint(
    families: np.ndarray,
    owners: dict[str, list[str]],
    orgs: Sequence[str],
    rng: np.random.Generator,
) -> np.ndarray:
    """Org index per row: benign spread evenly, each attack row to one of its family's owners.

    Rows of a family nobody owns get -1 (dropped from training; still usable for tests).
    """
    position = {org: i for i, org in enumerate(orgs)}
    out = np.full(len(families), -1, dtype=np.int64)
    for family in family_order(families):
        rows = np.flatnonzero(families == family)
        holders = orgs if family == BENIGN else owners.get(family, [])
        if not holders:
            continue
        picks = rng.permutation(np.arange(len(rows)) % len(holders))
        out[rows] = np.asarray([position[holder] for holder in holders])[picks]
    return out


def partition_iid(n_rows: int, n_orgs: int, rng: np.random.Generator) -> np.ndarray:
    """Org index per row, uniformly at random with equal sizes."""
    return rng.permutation(np.arange(n_rows) % n_orgs)


def dirichlet_shares(
    families: Sequence[str], n_orgs: int, alpha: float, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Label skew: per family, the share of its rows each org gets, ~ Dirichlet(alpha)."""
    return {family: rng.dirichlet(np.full(n_orgs, alpha)) for family in families}


def partition_by_shares(
    families: np.ndarray, shares: dict[str, np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Org index per row, each family's rows cut in the given shares (train and test alike)."""
    out = np.full(len(families), -1, dtype=np.int64)
    for family in family_order(families):
        if family not in shares:
            continue
        rows = rng.permutation(np.flatnonzero(families == family))
        cuts = (np.cumsum(shares[family])[:-1] * len(rows)).round().astype(np.int64)
        for org, chunk in enumerate(np.split(rows, cuts)):
            out[chunk] = org
    return out
