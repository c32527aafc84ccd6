"""The fuzz oracle's rules for each sample: which columns are numbers, ports, labels, ..."""

from __future__ import annotations

from fedsec.data.readers import nf_v2, unsw_nb15, zeek
from tests.data.readers.fuzz_oracle import Spec

UNSW_NUMERIC = list(unsw_nb15.NUMERIC)
NSL_TEXT = ("1", "2", "3")
CIC = {
    "text": ("Flow ID", "Src IP", "Dst IP", "Timestamp"),
    "ignored": ("id", "Attempted Category"),
    "nan_ok": ("Flow Bytes/s", "Flow Packets/s"),
    "ports": ("Src Port", "Dst Port", "Destination Port"),
    "protocols": ("Protocol",),
    "label": "Label",
    "replace_ok": ("Label",),
    "duplicates_ok": ("Fwd Header Length",),
    "drop_empty_rows": True,
}
SPECS: dict[str, Spec] = {
    "nsl-kdd": Spec(
        kind="nsl",
        numeric=tuple(str(i) for i in range(41) if str(i) not in NSL_TEXT),
        text=NSL_TEXT,
        ignored=("42",),
        label="41",
    ),
    "unsw-nb15": Spec(
        numeric=tuple(UNSW_NUMERIC),
        text=("proto", "service", "state"),
        ignored=("stcpb", "dtcpb"),
        ranges=(("id", 0, 2**53),),
        required=(*UNSW_NUMERIC, "proto", "service", "state"),
        label="attack_cat",
        blank_label_ok=True,
        binary="label",
        benign=("normal",),
    ),
    "cicids2017-mlcve": Spec(
        required=(
            "Flow Duration",
            "Total Fwd Packets",
            "Total Backward Packets",
            "Total Length of Fwd Packets",
            "Total Length of Bwd Packets",
        ),
        **CIC,
    ),
    "cicids2017-improved": Spec(
        required=(
            "Flow Duration",
            "Total Fwd Packet",
            "Total Bwd packets",
            "Total Length of Fwd Packet",
            "Total Length of Bwd Packet",
        ),
        **CIC,
    ),
    "nf-v2": Spec(
        text=("IPV4_SRC_ADDR", "IPV4_DST_ADDR"),
        ignored=("DNS_QUERY_ID", "Dataset", "FLOW_END_MILLISECONDS"),
        ports=("L4_SRC_PORT", "L4_DST_PORT"),
        protocols=("PROTOCOL",),
        ranges=(("L7_PROTO", 0, 1e6), ("FLOW_START_MILLISECONDS", 0, 7.3e12)),
        required=list(nf_v2.REQUIRED),
        label="Attack",
        binary="Label",
        benign=("benign",),
    ),
    "ton-iot": Spec(
        numeric=("fridge_temperature",),
        text=("date", "time"),
        ranges=(("ts", 0, 7.3e9),),
        whole_text=("temp_condition",),
        label="type",
        binary="label",
        benign=("normal",),
    ),
    "flows": Spec(
        numeric=("duration_s", "fwd_bytes", "bwd_bytes", "fwd_pkts", "bwd_pkts"),
        text=("timestamp", "src_ip", "dst_ip", "flow_id", "campaign", "org", "service"),
        optional_ports=("src_port", "dst_port"),
        protocols=("protocol",),
        protocol_names=True,
        required=("duration_s", "fwd_bytes", "bwd_bytes", "fwd_pkts", "bwd_pkts", "protocol"),
        label="label",
    ),
    "zeek-ascii": Spec(
        kind="zeek",
        numeric=list(zeek.COUNTERS),
        required=("id.resp_p", "proto", "orig_pkts", "resp_pkts"),
    ),
    "sequences": Spec(kind="sequences"),
    "logrobust": Spec(kind="logrobust", text=("Sequence",), label="label"),
    "loghub-structured": Spec(kind="sessions"),
    "raw-log": Spec(kind="sessions"),
}
SPECS["zeek-json"] = SPECS["zeek-ascii"]
