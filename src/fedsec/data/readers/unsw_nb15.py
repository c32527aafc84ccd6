"""UNSW-NB15 CSV partitions (training-set / testing-set): 42 features + attack_cat + label."""

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
    numeric_block,
    read_csv_checked,
    require_columns,
    strip_column_names,
    text_block,
)
from fedsec.data.taxonomy import UNSW_NB15, map_labels

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
#: ``id`` is a row number and ``stcpb``/``dtcpb`` are random TCP initial sequence numbers:
#: identifiers, not behaviour, so they are read but never used as features.
IDENTIFIERS: tuple[str, ...] = ("id", "stcpb", "dtcpb")
LABEL = "attack_cat"

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
    raw = strip_column_names(read_csv_checked(path))
    require_columns(raw, (*NUMERIC, *CATEGORICAL, LABEL), path)
    numeric, _ = numeric_block(raw, NUMERIC, path)
    text = text_block(raw, CATEGORICAL)
    labels = raw[LABEL].astype(str).str.strip().replace({"nan": "Normal", "": "Normal"})
    families, unknown = map_labels(labels, UNSW_NB15)
    context = pd.DataFrame({"flow_id": raw["id"]}) if "id" in raw else pd.DataFrame(index=raw.index)
    return FlowTable(
        source="unsw-nb15",
        native=pd.concat([numeric, text], axis=1),
        native_categorical=CATEGORICAL,
        family=families,
        label=labels.to_numpy(dtype=object),
        context=context,
        canonical=_canonical(numeric, text),
        unknown_labels=unknown,
        files=[str(path)],
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
