"""Hand-written Zeek conn.log files: the header block of every field (or all but one), five rows
of different kinds (TLS, a half-open connection, DNS, ICMP, a rejected one), and the log they
make."""

from __future__ import annotations

from pathlib import Path

FIELDS = str.split(
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
    "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes "
    "resp_pkts resp_ip_bytes tunnel_parents"
)
TYPES = str.split(
    "time string addr port addr port enum string interval count count string bool bool count "
    "string count count count count set[string]"
)


def make_header(drop: str | None = None) -> str:
    """A Zeek header block; ``drop`` leaves one field out."""
    kept = [(f, t) for f, t in zip(FIELDS, TYPES, strict=True) if f != drop]
    return "\n".join(
        [
            "#separator \\x09",
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            "#path\tconn",
            "#open\t2024-03-04-10-00-00",
            "#fields\t" + "\t".join(f for f, _ in kept),
            "#types\t" + "\t".join(t for _, t in kept),
        ]
    )


def without(rows: list[str], field: str) -> list[str]:
    """``rows`` with ``field``'s value left out of each."""
    index = FIELDS.index(field)
    return [" ".join(p for i, p in enumerate(r.split(" ")) if i != index) for r in rows]


HEADER = make_header()
ROWS = [
    "1709546400.123456 CAbc1 10.0.0.5 51234 93.184.216.34 443 tcp ssl 1.250000 517 4120 SF T F "
    "0 ShADadFf 12 1141 10 4640 (empty)",
    "1709546401.000000 CAbc2 10.0.0.5 51235 10.0.0.9 22 tcp - - - - S0 T T 0 S 1 60 0 0 -",
    "1709546402.5 CAbc3 10.0.0.7 53011 10.0.0.1 53 udp dns 0.010000 40 120 SF T T 0 Dd 1 68 1 "
    "148 -",
    "1709546403.0 CAbc4 10.0.0.8 8 10.0.0.1 0 icmp - 0.5 56 56 OTH T T 0 - 2 112 2 112 -",
    "1709546404.0 CAbc5 10.0.0.9 40000 10.0.0.2 445 tcp - 0.02 0 0 REJ T T 0 Sr 1 44 1 40 -",
]


def conn_log(rows: list[str], header: str = HEADER, close: bool = True) -> str:
    """A conn.log: ``header``, ``rows`` tab-separated, and its ``#close`` line if ``close``."""
    body = "\n".join("\t".join(row.split(" ")) for row in rows)
    return header + "\n" + body + "\n" + ("#close\t2024-03-04-10-59-59\n" if close else "")


def write(path: Path, text: str) -> Path:
    """``text`` written to ``path``."""
    path.write_text(text)
    return path
