"""The HTML report: self-contained (every image embedded, nothing loaded from elsewhere), one
timeline per incident, and alert content escaped, never markup."""

from __future__ import annotations

import re

from fedsec.forensics.alerts import read_alerts
from fedsec.forensics.hosts import Networks
from fedsec.forensics.html import render_html
from fedsec.forensics.incidents import find_incidents, findings_json
from tests.forensics.ecs import ecs_alert, write_lines
from tests.forensics.kill_chain import kill_chain

HOSTILE = '<script>alert("x")</script>'


def test_one_embedded_timeline_per_incident_and_no_external_resource(tmp_path) -> None:
    rows = iter(range(1, 1000))
    lines = kill_chain("office", 0, rows) + kill_chain("grid", 0, rows)
    lines += [  # an organization is free text (a family must be a name: refused when read)
        ecs_alert(k, "198.18.7.7", "10.1.0.9", "exploit", org=HOSTILE, row=next(rows))
        for k in range(12)
    ]
    write_lines(tmp_path / "a.jsonl", lines)
    findings = find_incidents(read_alerts([tmp_path / "a.jsonl"]))
    page = render_html(findings, findings_json(findings, Networks()))
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(findings.incidents) == 3
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in page and "<link" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    for incident in findings.incidents:
        assert f'<section id="{incident.id}">' in page
