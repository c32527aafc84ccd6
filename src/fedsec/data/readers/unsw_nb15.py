"""UNSW-NB15 CSV partitions (training-set / testing-set): 42 features + attack_cat + label.

Labels are optional (new flows to score carry none). ``attack_cat`` names the attack; a blank
``attack_cat`` means normal traffic, the convention of the original UNSW-NB15 CSVs, and must then
agree with ``label`` (0 normal, 1 attack) when that column is there: a row whose two labels
contradict each other (``label`` 1 with a blank or ``Normal`` category) is refused, naming it.
With ``label`` alone, attacks are family ``other``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fedsec.data.canonical import (
    finish_canonical,
    flags_from_states,
    protocol_class,
    service_from_name,
)
from fedsec.data.flows import FlowTable
from fedsec.data.readers._io import (
    check_not_negative,
    check_range,
    numeric_block,
    read_csv_checked,
    require_columns,
    text_block,
)
from fedsec.data.readers._labels import LabelColumns, read_labels
from fedsec.data.taxonomy import UNSW_NB15

CATEGORICAL: tuple[str, ...] = ("proto", "service", "state")
NUMERIC: tuple[str, ...] = (
    "dur",
    "spkts",
    "dpkts",
    "sbytes",
    "dbytes",
    "rate",
    "sttl",
    "dttl",
    "sload",
    "dload",
    "sloss",
    "dloss",
    "sinpkt",
    "dinpkt",
    "sjit",
    "djit",
    "swin",
    "dwin",
    "tcprtt",
    "synack",
    "ackdat",
    "smean",
    "dmean",
    "trans_depth",
    "response_body_len",
    "ct_srv_src",
    "ct_state_ttl",
    "ct_dst_ltm",
    "ct_src_dport_ltm",
    "ct_dst_sport_ltm",
    "ct_dst_src_ltm",
    "is_ftp_login",
    "ct_ftp_cmd",
    "ct_flw_http_mthd",
    "ct_src_ltm",
    "ct_srv_dst",
    "is_sm_ips_ports",
)
# Left out of NUMERIC on purpose: ``id`` is a row number and ``stcpb``/``dtcpb`` are random TCP
# initial sequence numbers, identifiers rather than behaviour (tests/data/readers pins this).
LABEL = "attack_cat"
BINARY = "label"


def _attack_category(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """UNSW-NB15's attack category; benign rows leave it blank."""
    return raw[column].fillna("").astype(str).str.strip().replace({"nan": "Normal", "": "Normal"})


LABELS = LabelColumns(
    LABEL, BINARY, UNSW_NB15, attack_text="Attack", benign_text="Normal", read_text=_attack_category
)

#: Argus connection states -> TCP flags seen (s=syn, a=ack, f=fin, r=rst).
STATE_FLAGS: dict[str, str] = {
    "FIN": "saf",
    "CON": "sa",
    "REQ": "s",
    "RST": "sr",
    "CLO": "saf",
    "ACC": "sa",
}


def read(path: Path) -> FlowTable:
    return from_frame(read_csv_checked(path), path)


def from_frame(raw: pd.DataFrame, path: Path) -> FlowTable:
    """The flows of ``raw`` (rows of ``path``, indexed by their data row there, 0-based)."""
    require_columns(raw, (*NUMERIC, *CATEGORICAL), path)
    numeric, _ = numeric_block(raw, NUMERIC, path)
    check_not_negative(raw, numeric, ("dur", "sbytes", "dbytes", "spkts", "dpkts"), path)
    text = text_block(raw, CATEGORICAL)
    families, labels, unknown, notes = read_labels(raw, path, LABELS)
    check_range(raw, ["id"], path, low=0, high=2**53, what="a row id")
    context = pd.DataFrame({"flow_id": raw["id"]}) if "id" in raw else pd.DataFrame(index=raw.index)
    return FlowTable(
        source="unsw-nb15",
        native=pd.concat([numeric, text], axis=1),
        native_categorical=CATEGORICAL,
        family=families,
        label=labels,
        context=context,
        canonical=_canonical(numeric, text),
        unknown_labels=unknown,
        notes=[f"{path}: {note}" for note in notes],
        files=[str(path)],
        source_row=raw.index.to_numpy() + 1,
    )


def _canonical(numeric: pd.DataFrame, text: pd.DataFrame) -> pd.DataFrame:
    protocol = protocol_class(text["proto"])
    flags = flags_from_states(text["state"].str.upper(), STATE_FLAGS)
    flags.loc[protocol != "tcp"] = 0.0
    base = pd.DataFrame(
        {
            "duration_s": numeric["dur"],
            "fwd_bytes": numeric["sbytes"],
            "bwd_bytes": numeric["dbytes"],
            "fwd_pkts": numeric["spkts"],
            "bwd_pkts": numeric["dpkts"],
            "protocol": protocol,
            "service": service_from_name(text["service"]),
        },
        index=numeric.index,
    )
    return finish_canonical(pd.concat([base, flags], axis=1).replace({np.inf: np.nan}))
