"""Raw log lines -> header fields + message -> templates with Drain3 (in memory only).

The header layout is a loghub-style format string (``<Date> <Time> <Level> <Component>:
<Content>``) or the name of a loghub system. Drain3 (He et al., ICWS 2017; IBM's kept
implementation) mines templates from the ``Content`` field; its persistence is never used (it
would pickle state), so the miner lives for one call. Variable parts that Drain would otherwise
learn slowly (block ids, addresses, numbers) are masked first, as in Drain3's examples.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd
from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from fedsec.core.errors import InputError
from fedsec.data.logs.sequences import open_text

# Header layouts of loghub systems (as in the loghub/logparser benchmark settings).
LOG_FORMATS: dict[str, str] = {
    "HDFS": "<Date> <Time> <Pid> <Level> <Component>: <Content>",
    "Hadoop": r"<Date> <Time> <Level> \[<Process>\] <Component>: <Content>",
    "Spark": "<Date> <Time> <Level> <Component>: <Content>",
    "Zookeeper": r"<Date> <Time> - <Level>  \[<Node>:<Component>@<Id>\] - <Content>",
    "BGL": "<Label> <Timestamp> <Date> <Node> <Time> <NodeRepeat> <Type> <Component> <Level> "
    "<Content>",
    "HPC": "<LogId> <Node> <Component> <State> <Time> <Flag> <Content>",
    "Thunderbird": "<Label> <Timestamp> <Date> <User> <Month> <Day> <Time> <Location> "
    r"<Component>(\[<PID>\])?: <Content>",
    "Linux": r"<Month> <Date> <Time> <Level> <Component>(\[<PID>\])?: <Content>",
    "OpenSSH": r"<Date> <Day> <Time> <Component> sshd\[<Pid>\]: <Content>",
    "OpenStack": r"<Logrecord> <Date> <Time> <Pid> <Level> <Component> \[<ADDR>\] <Content>",
    "Apache": r"\[<Time>\] \[<Level>\] <Content>",
}
MASKS = (
    (r"blk_-?\d+", "*"),
    (r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?![\w.])", "*"),
    (r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b", "*"),
    (r"(?<![\w])0x[0-9a-fA-F]+\b", "*"),
    (r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w.])", "*"),
)


def format_regex(log_format: str) -> re.Pattern[str]:
    """A regex with one named group per ``<Field>`` of a loghub-style format string.

    A header field and the separator after it form an atomic group: the field ends at the first
    place the separator matches and is not re-tried. Without that, a line that does not match
    makes the lazy groups try every split at every space: a few KiB of spaces hang the reader.
    """
    layout = LOG_FORMATS.get(log_format, log_format)
    if "<Content>" not in layout:
        raise ValueError(
            f"log format {log_format!r} has no <Content> field; "
            f"known systems: {', '.join(LOG_FORMATS)}"
        )
    parts = re.split(r"(<[^<>]+>)", layout)
    pattern = _literal(parts[0])
    for index in range(1, len(parts), 2):
        name, after = parts[index][1:-1], _literal(parts[index + 1])
        field = f"(?P<{name}>.*?){after}"
        atomic = name != "Content" and after and _balanced(after)
        pattern += f"(?>{field})" if atomic else field
    return re.compile(f"^{pattern}$")


def _literal(part: str) -> str:
    return re.sub(" +", r"\\s+", part)


def _balanced(text: str) -> bool:
    """True when the regex text opens and closes its own groups (escaped brackets aside)."""
    depth = 0
    for char in re.sub(r"\\.", "", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def read_raw(path: Path, log_format: str) -> tuple[pd.DataFrame, int]:
    """Header fields and ``Content`` of every line matching ``log_format``, and the number of
    non-empty lines that did not match (skipped, as loghub's parsers do; refused when they are
    most lines: the format is not this log's). Indented lines (a stack trace's ``\tat ...``
    under the line that logged it) are skipped without counting against the format."""
    path = Path(path)
    try:
        regex = format_regex(log_format)
    except (ValueError, re.error) as error:
        raise InputError(path, f"bad log format: {error}") from error
    rows, skipped, unmatched = [], 0, 0
    for raw in open_text(path):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        match = regex.match(line.strip())
        if match is None:
            skipped += 1
            unmatched += not line[0].isspace()
            continue
        rows.append(match.groupdict())
    if not rows:
        raise InputError(
            path,
            f"no line matches the log format {log_format!r}"
            + (f" ({skipped} lines tried)" if skipped else " (empty file)"),
        )
    if unmatched > len(rows):
        raise InputError(
            path,
            f"{unmatched} of {unmatched + len(rows)} unindented lines do not match the log "
            f"format {log_format!r}: is it this log's format (--log-format)?",
        )
    return pd.DataFrame(rows), skipped


def miner_config() -> TemplateMinerConfig:
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, m) for p, m in MASKS]
    config.mask_prefix, config.mask_suffix = "<", ">"
    config.drain_sim_th = 0.4
    config.drain_depth = 4
    config.profiling_enabled = False
    return config


def mine_templates(contents: pd.Series) -> tuple[list[str], dict[str, str]]:
    """Event key per line (``D<cluster id>``) and each key's final template text."""
    logging.getLogger("drain3").setLevel(logging.WARNING)
    miner = TemplateMiner(persistence_handler=None, config=miner_config())
    keys = [f"D{miner.add_log_message(str(text))['cluster_id']}" for text in contents]
    templates = {f"D{c.cluster_id}": c.get_template() for c in miner.drain.clusters}
    return keys, templates
