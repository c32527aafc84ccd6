from fedsec.experiments.sweep_ray import Pending, _Store


class CountingRay:
    """Ray's ``put``, counted: each call stores a new object."""

    def __init__(self) -> None:
        self.stored: list = []

    def put(self, value):
        self.stored.append(value)
        return f"ref{len(self.stored)}"


def test_each_distinct_split_is_stored_once_for_all_its_jobs_and_scalars_travel_as_they_are():
    ray = CountingRay()
    store = _Store(ray)
    splits_a, splits_b = {"rows": [1, 2]}, {"rows": [1, 2]}  # equal, but two objects
    first = store.arguments({"federation": splits_a, "epsilon": 1.0, "name": "x"})
    second = store.arguments({"federation": splits_a, "epsilon": 2.0, "name": None})
    third = store.arguments({"federation": splits_b, "epsilon": 2.0, "name": None})
    assert ray.stored == [splits_a, splits_b]
    assert first == {"federation": "ref1", "epsilon": 1.0, "name": "x"}
    assert second["federation"] == "ref1" and second["epsilon"] == 2.0
    assert third["federation"] == "ref2"


def test_pending_jobs_are_taken_in_the_given_order_once_each():
    jobs = [{"n": 0}, {"n": 1}, {"n": 2}]
    pending = Pending(jobs, [2, 0, 1])
    taken = [pending.take() for _ in range(4)]
    assert taken == [(2, {"n": 2}), (0, {"n": 0}), (1, {"n": 1}), None]
    assert len(pending) == 0
