"""An alerts file re-saved as UTF-16 (PowerShell's ``>``, many Windows editors) or UTF-32 is
refused naming the file, its line and the encoding, with the way to convert it; before, Python's
JSON reader guessed UTF-16 from each line's bytes and the refusal read ``not a JSON object:
'utf-16-le' codec can't decode byte 0x0a in position 4660: truncated data``."""

from __future__ import annotations

import pytest

from fedsec.core.errors import InputError
from fedsec.forensics.alerts import read_alerts
from tests.forensics.cic_alerts import ddos_alerts, write


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_an_alerts_file_in_utf16_or_utf32_is_named_so(tmp_path, encoding) -> None:
    plain = write(tmp_path / "alerts.jsonl", ddos_alerts(20))
    assert len(read_alerts([plain])) == 20
    converted = tmp_path / f"alerts-{encoding}.jsonl"
    converted.write_bytes(plain.read_text(encoding="utf-8").encode(encoding))
    with pytest.raises(InputError) as refused:
        read_alerts([converted])
    assert str(refused.value).startswith(f"{converted}:1: is UTF-16 or UTF-32 text")
    assert "iconv -f UTF-16 -t UTF-8" in str(refused.value)


def test_a_utf8_byte_order_mark_is_still_read(tmp_path) -> None:
    plain = write(tmp_path / "alerts.jsonl", ddos_alerts(20))
    marked = tmp_path / "marked.jsonl"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert read_alerts([marked]) != [] and len(read_alerts([marked])) == 20
