"""Host and authentication events for behavioural analysis: logons, failures, process starts.

One table per organization, columns :data:`EVENT_COLUMNS`. Benign users log on by working
hours (with occasional mistyped passwords) and start their usual programs; attack stages leave
the traces they leave on hosts: a brute force's failed logons ending in a success, lateral
movement's network logons and service binaries, the implant, the exfiltration tool, the
ransomware's shadow-copy deletion, the script writing to a controller.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fedsec.core import seeding
from fedsec.data.taxonomy import BENIGN, SIMULATOR
from fedsec.simulator import timing
from fedsec.simulator.archetypes import ARCHETYPES
from fedsec.simulator.config import SimulationConfig
from fedsec.simulator.hosts import OrgHosts
from fedsec.simulator.traffic import OrgTraffic

EVENT_COLUMNS: tuple[str, ...] = (
    "ts",
    "org",
    "host",
    "user",
    "event",
    "logon_type",
    "process",
    "parent",
    "src_ip",
    "label",
    "family",
    "campaign",
)
PROGRAMS: dict[str, tuple[str, ...]] = {
    "industrial": ("hmi_runtime.exe", "historian_agent.exe", "chrome.exe", "outlook.exe"),
    "cloud": ("nginx", "python3", "java", "sshd", "containerd-shim"),
    "corporate": ("chrome.exe", "outlook.exe", "teams.exe", "excel.exe", "winword.exe"),
    "critical-infra": ("scada_master.exe", "hmi_runtime.exe", "chrome.exe", "outlook.exe"),
    "iot": ("mosquitto", "telemetryd", "ntpd", "dropbear"),
}
GUESSED_USERS = ("administrator", "admin", "root", "test", "user", "backup", "guest", "support")
#: technique -> (process, parent) started on the foothold once per stage.
IMPLANTS: dict[str, tuple[str, str]] = {
    "T1071": ("rundll32.exe", "explorer.exe"),
    "T1041": ("rclone.exe", "cmd.exe"),
    "T1486": ("vssadmin.exe delete shadows /all /quiet", "locker.exe"),
    "T0855": ("python.exe modbus_write.py", "cmd.exe"),
    "T1046": ("nmap.exe", "cmd.exe"),
}


def _users(hosts: pd.Series) -> np.ndarray:
    parts = hosts.astype(str).str.split(".")
    return ("u" + parts.str[2] + "-" + parts.str[3]).to_numpy(dtype=object)


def _frame(n: int, **columns: object) -> pd.DataFrame:
    """``n`` events; columns not given are ``-``."""
    return pd.DataFrame({c: columns.get(c, "-") for c in EVENT_COLUMNS}, index=range(n))


def benign_events(
    config: SimulationConfig,
    org: str,
    archetype: str,
    hosts: OrgHosts,
    flows: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Logons (4% mistyped) and program starts by working hours on client hosts."""
    client = ARCHETYPES[archetype].generic["client"]
    activity = timing.hourly_activity("office", config.days, config.start.weekday())
    logons = max(1, flows // 25)
    host = pd.Series(hosts.pick(client, rng, logons))
    failed = rng.random(logons) < 0.04
    logon = _frame(
        logons,
        ts=timing.sample_times(activity, rng, logons, config.start_epoch),
        org=org,
        host=host.to_numpy(),
        user=_users(host),
        event=np.where(failed, "logon_failure", "logon_success"),
        logon_type=np.where(rng.random(logons) < 0.7, "interactive", "network"),
        label="benign",
        family=BENIGN,
    )
    starts = max(1, flows // 15)
    host = pd.Series(hosts.pick(client, rng, starts))
    programs = np.asarray(PROGRAMS[archetype], dtype=object)
    process = _frame(
        starts,
        ts=timing.sample_times(activity, rng, starts, config.start_epoch),
        org=org,
        host=host.to_numpy(),
        user=_users(host),
        event="process_start",
        process=programs[rng.integers(0, len(programs), starts)],
        parent="explorer.exe",
        label="benign",
        family=BENIGN,
    )
    return pd.concat([logon, process], ignore_index=True)


def _brute_force(rows: pd.DataFrame, rng: np.random.Generator, common: dict) -> list:
    """One failed logon per attempt; the last attempt succeeds."""
    n = len(rows)
    return [
        _frame(
            n,
            ts=rows["ts"].to_numpy() + 0.5,
            host=rows["dst_ip"].to_numpy(),
            user=np.asarray(GUESSED_USERS)[rng.integers(0, len(GUESSED_USERS), n)],
            event=np.where(np.arange(n) == n - 1, "logon_success", "logon_failure"),
            logon_type="remote_interactive",
            src_ip=rows["src_ip"].to_numpy(),
            **common,
        )
    ]


def _lateral_movement(rows: pd.DataFrame, rng: np.random.Generator, common: dict) -> list:
    """A network logon per established connection; PsExec's service on 40% of them."""
    done = rows[rows["flag_ack"] > 0]
    service = rng.random(len(done)) < 0.4
    logons = _frame(
        len(done),
        ts=done["ts"].to_numpy() + 0.2,
        host=done["dst_ip"].to_numpy(),
        user="svc-backup",
        event="logon_success",
        logon_type="network",
        src_ip=done["src_ip"].to_numpy(),
        **common,
    )
    services = _frame(
        int(service.sum()),
        ts=done["ts"].to_numpy()[service] + 1.0,
        host=done["dst_ip"].to_numpy()[service],
        user="SYSTEM",
        event="process_start",
        process="PSEXESVC.exe",
        parent="services.exe",
        **common,
    )
    return [logons, services]


def _web_shell(rows: pd.DataFrame, rng: np.random.Generator, common: dict) -> list:
    """Commands spawned by the exploited web server (about five per stage)."""
    hits = rows.iloc[:: max(1, len(rows) // 5)]
    return [
        _frame(
            len(hits),
            ts=hits["ts"].to_numpy() + 0.1,
            host=hits["dst_ip"].to_numpy(),
            user="www-data",
            event="process_start",
            process="cmd.exe",
            parent="w3wp.exe",
            **common,
        )
    ]


def _implant(rows: pd.DataFrame, technique: str, common: dict) -> list:
    """The tool a stage starts on its source host, once, just before its first flow."""
    first = rows.iloc[0]
    inside = str(first["src_ip"]).startswith("10.")
    if technique not in IMPLANTS or not inside:
        return []
    process, parent = IMPLANTS[technique]
    return [
        _frame(
            1,
            ts=float(first["ts"]) - 1.0,
            host=first["src_ip"],
            user="SYSTEM" if technique == "T1486" else "u-compromised",
            event="process_start",
            process=process,
            parent=parent,
            **common,
        )
    ]


TRACES = {"T1110": _brute_force, "T1021": _lateral_movement, "T1190": _web_shell}


def attack_events(flows: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Host traces of the attack stages in ``flows`` (label noise does not hide them)."""
    parts: list[pd.DataFrame] = []
    attacks = flows[flows["stage"] >= 0]
    for (campaign, _stage), rows in attacks.groupby(["campaign", "stage"], sort=True):
        technique = str(rows["behaviour"].iloc[0]).removeprefix("attack:")
        common = {
            "org": rows["org"].iloc[0],
            "label": technique,
            "family": SIMULATOR.get(technique, BENIGN),
            "campaign": campaign,
        }
        if technique in TRACES:
            parts += TRACES[technique](rows, rng, common)
        parts += _implant(rows, technique, common)
    return pd.concat(parts, ignore_index=True) if parts else _frame(0)


def host_events(config: SimulationConfig, traffic: OrgTraffic) -> pd.DataFrame:
    """All of one organization's host events, sorted by time."""
    rng = seeding.rng(config.seed, "events", traffic.name)
    benign = int((traffic.flows["family"] == BENIGN).sum())
    frame = pd.concat(
        [
            benign_events(config, traffic.name, traffic.archetype, traffic.hosts, benign, rng),
            attack_events(traffic.flows, rng),
        ],
        ignore_index=True,
    )
    frame["ts"] = frame["ts"].astype(float).round(6)
    return frame.sort_values("ts", kind="stable", ignore_index=True)[list(EVENT_COLUMNS)]
