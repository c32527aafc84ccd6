"""The hypothesis strategy the reader fuzz tests share: one to three mutations of a real file."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.data.readers import fuzzing

mutations = st.lists(
    st.builds(
        fuzzing.Mutation,
        kind=st.sampled_from(fuzzing.KINDS),
        a=st.integers(0, 10**6),
        b=st.integers(0, 10**6),
        payload=st.integers(0, len(fuzzing.HOSTILE) - 1),
    ),
    min_size=1,
    max_size=3,
)
