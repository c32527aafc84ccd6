from fedsec.experiments.sweep_timeline import HERE, Ready, Span, Timeline


def test_the_breakdown_gives_each_workers_busy_seconds_and_idle_tail():
    timeline = Timeline(origin=100.0)
    timeline.marks.update({"ray.init end": 103.0, "ray.init start": 100.5})
    timeline.worker_ready(Ready("ray worker 7", process=102.0, ready=105.0))
    for span in (Span(0, HERE, 100.0, 108.0), Span(1, "ray worker 7", 105.5, 107.0)):
        timeline.span(span)
    timeline.span(Span(2, HERE, 108.0, 112.0))
    lines = timeline.breakdown()
    assert lines[:2] == [
        "ray.init start               +   0.5 s",
        "ray.init end" + " " * 17 + "+   3.0 s",
    ]
    assert "ray worker 7: process up +2.0 s, fedsec and torch imported +5.0 s" in lines
    assert "job   1 on ray worker 7       +   5.5 -> +   7.0 s (  1.5 s)" in lines
    assert "ray worker 7       1 jobs, busy   1.5 s, first job at +5.5 s, idle tail  5.0 s" in lines
    assert "this process       2 jobs, busy  12.0 s, first job at +0.0 s, idle tail  0.0 s" in lines
    assert lines[-1] == "last job ended at +12.0 s"
