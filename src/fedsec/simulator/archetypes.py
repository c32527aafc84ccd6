"""Organization archetypes: their hosts, roles and benign behaviour.

An archetype lists host roles (share of the organization's hosts, with a minimum count) and
behaviours: who talks to whom (a role or ``internet``), when (an activity profile of
:mod:`.timing`), how (a flow :class:`~.shapes.Shape`) and how much (share of the organization's
benign flows). ``generic`` names the roles attack techniques aim at: ``exposed`` (reachable from
the internet), ``client``, ``fileserver``, ``controller`` (PLCs, RTUs), ``engineering``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedsec.simulator.shapes import REGISTERED_PORT, Shape, ln

INTERNET = "internet"


@dataclass(frozen=True)
class Role:
    name: str
    share: float
    minimum: int = 1


@dataclass(frozen=True)
class Behaviour:
    name: str
    weight: float
    src: str
    dst: str
    profile: str
    shape: Shape


@dataclass(frozen=True)
class Archetype:
    name: str
    description: str
    roles: tuple[Role, ...]
    generic: dict[str, str]
    behaviours: tuple[Behaviour, ...]


# fmt: off
WEB = Shape("tcp", ((443, 0.88), (80, 0.12)), ln(9, 0.9), ln(1.3, 0.35), ln(140, 0.5),
            ln(700, 0.6), ln(1.2, 1.6),
            (("SF", 0.9), ("S1", 0.04), ("RSTO", 0.04), ("S0", 0.015), ("REJ", 0.005)), 1.6)
DNS = Shape("udp", ((53, 1.0),), ln(1, 0.2), ln(1, 0.1), ln(70, 0.2), ln(150, 0.5),
            ln(0.03, 0.8), (("SF", 0.97), ("S0", 0.03)))
NTP = Shape("udp", ((123, 1.0),), ln(1, 0.1), ln(1, 0.05), ln(76, 0.01), ln(76, 0.01),
            ln(0.02, 0.6))
PING = Shape("icmp", ((0, 1.0),), ln(3, 0.5), ln(1, 0.05), ln(84, 0.01), ln(84, 0.01),
             ln(3, 0.5))
SMB = Shape("tcp", ((445, 1.0),), ln(40, 1.3), ln(1.5, 0.5), ln(200, 0.5), ln(1000, 0.4),
            ln(5, 1.5), (("SF", 0.85), ("S1", 0.1), ("RSTO", 0.05)), 1.5)
LDAP = Shape("tcp", ((389, 0.6), (88, 0.4)), ln(6, 0.4), ln(1.0, 0.2), ln(250, 0.4),
             ln(400, 0.5), ln(0.05, 1.0), (("SF", 0.95), ("RSTO", 0.05)))
MAIL = Shape("tcp", ((993, 0.6), (587, 0.3), (25, 0.1)), ln(20, 1.0), ln(1.2, 0.4),
             ln(300, 0.8), ln(500, 0.8), ln(2, 1.2), (("SF", 0.9), ("S1", 0.1)), 2.0)
UPDATES = Shape("tcp", ((443, 0.8), (80, 0.2)), ln(300, 1.2), ln(1.6, 0.2), ln(60, 0.2),
                ln(1400, 0.05), ln(20, 1.2), (("SF", 1.0),), 1.2)
RDP = Shape("tcp", ((3389, 1.0),), ln(2000, 1.6), ln(1.5, 0.4), ln(120, 0.3), ln(600, 0.4),
            ln(900, 1.2), (("SF", 0.7), ("S1", 0.3)))
SSH = Shape("tcp", ((22, 1.0),), ln(300, 1.4), ln(1.2, 0.3), ln(100, 0.3), ln(200, 0.6),
            ln(300, 1.5), (("SF", 0.85), ("S1", 0.15)))
PRINT = Shape("tcp", ((9100, 1.0),), ln(60, 1.0), ln(0.3, 0.3), ln(1200, 0.2), ln(60, 0.1),
              ln(4, 1.0))
API_IN = Shape("tcp", ((443, 0.95), (80, 0.05)), ln(8, 0.7), ln(1.2, 0.3), ln(180, 0.6),
               ln(600, 0.7), ln(0.4, 1.2), (("SF", 0.93), ("RSTO", 0.05), ("S0", 0.02)), 2.5)
EAST_WEST = Shape("tcp", ((8080, 0.3), (8443, 0.2), (9090, 0.15), (6379, 0.15), (5672, 0.1),
                          (2379, 0.1)),
                  ln(6, 0.6), ln(1.0, 0.3), ln(250, 0.6), ln(350, 0.7), ln(0.05, 1.0),
                  (("SF", 0.95), ("RSTO", 0.04), ("REJ", 0.01)))
DB = Shape("tcp", ((5432, 0.6), (3306, 0.3), (1433, 0.1)), ln(12, 0.9), ln(1.4, 0.4),
           ln(150, 0.6), ln(500, 0.8), ln(0.2, 1.3), (("SF", 0.9), ("S1", 0.1)), 2.0)
HEALTH = Shape("tcp", ((80, 0.5), (8080, 0.5)), ln(4, 0.2), ln(1.0, 0.05), ln(110, 0.2),
               ln(150, 0.3), ln(0.005, 0.6))
STORAGE = Shape("tcp", ((443, 1.0),), ln(500, 1.3), ln(0.4, 0.3), ln(1400, 0.05),
                ln(60, 0.15), ln(5, 1.2), (("SF", 0.95), ("S1", 0.05)), 1.3)
EGRESS_API = Shape("tcp", ((443, 1.0),), ln(10, 0.7), ln(1.1, 0.3), ln(300, 0.5),
                   ln(500, 0.7), ln(0.3, 1.0), (("SF", 0.97), ("RSTO", 0.03)))
MODBUS_POLL = Shape("tcp", ((502, 1.0),), ln(60, 0.3), ln(1.0, 0.03), ln(66, 0.04),
                    ln(79, 0.15), ln(60, 0.15), (("S1", 0.85), ("SF", 0.15)))
S7_POLL = Shape("tcp", ((102, 1.0),), ln(60, 0.3), ln(1.0, 0.03), ln(85, 0.05), ln(110, 0.2),
                ln(60, 0.15), (("S1", 0.85), ("SF", 0.15)))
DNP3_POLL = Shape("tcp", ((20000, 1.0),), ln(30, 0.3), ln(1.0, 0.05), ln(70, 0.05),
                  ln(95, 0.3), ln(60, 0.15), (("S1", 0.85), ("SF", 0.15)))
MODBUS_TRANSACTION = Shape("tcp", ((502, 1.0),), ln(5, 0.3), ln(1.0, 0.05), ln(66, 0.04),
                           ln(80, 0.15), ln(0.08, 0.6), (("SF", 0.97), ("RSTO", 0.03)))
EWS = Shape("tcp", ((502, 0.5), (102, 0.3), (20000, 0.2)), ln(150, 1.0), ln(1.1, 0.3),
            ln(180, 0.6), ln(250, 0.6), ln(90, 1.2), (("SF", 0.8), ("S1", 0.2)))
HISTORIAN = Shape("tcp", ((1433, 1.0),), ln(20, 0.8), ln(1.5, 0.4), ln(300, 0.5),
                  ln(400, 0.6), ln(1.0, 1.0), (("SF", 0.9), ("S1", 0.1)))
SCADA_LINK = Shape("tcp", ((REGISTERED_PORT, 1.0),), ln(20, 0.6), ln(1.2, 0.3), ln(120, 0.4),
                   ln(300, 0.5), ln(5, 1.0), (("SF", 0.6), ("S1", 0.4)))
MQTT = Shape("tcp", ((1883, 0.6), (8883, 0.4)), ln(4, 0.4), ln(0.8, 0.3), ln(90, 0.4),
             ln(60, 0.2), ln(0.3, 0.9), (("SF", 0.8), ("S1", 0.2)))
IOT_CLOUD = Shape("tcp", ((443, 1.0),), ln(10, 0.6), ln(1.0, 0.3), ln(200, 0.5), ln(350, 0.6),
                  ln(0.5, 1.0), (("SF", 0.95), ("RSTO", 0.05)))
CAMERA = Shape("tcp", ((443, 0.7), (554, 0.3)), ln(2000, 1.0), ln(0.05, 0.5), ln(1100, 0.2),
               ln(70, 0.2), ln(60, 0.6), (("SF", 0.7), ("S1", 0.3)))

B = Behaviour
IT_MIX = (
    B("web", 0.2, "it-ws", INTERNET, "office", WEB),
    B("dns", 0.12, "it-ws", "it-srv", "office", DNS),
    B("smb", 0.06, "it-ws", "it-srv", "office", SMB),
    B("directory", 0.03, "it-ws", "it-srv", "office", LDAP),
    B("mail", 0.03, "it-ws", INTERNET, "office", MAIL),
    B("updates", 0.01, "it-ws", INTERNET, "office", UPDATES),
    B("ntp", 0.02, "it-ws", "it-srv", "always", NTP),
    B("vendor-rdp", 0.005, INTERNET, "gateway", "office", RDP),
)

ARCHETYPES: dict[str, Archetype] = {
    a.name: a
    for a in (
        Archetype(
            "industrial",
            "plant: HMIs poll PLCs over Modbus/TCP and S7, engineering workstations, "
            "a historian, and an office IT network",
            (Role("it-ws", 0.35, 5), Role("it-srv", 0.05, 2), Role("hmi", 0.06, 2),
             Role("plc", 0.4, 4), Role("ews", 0.03, 1), Role("historian", 0.02, 1),
             Role("gateway", 0.01, 1), Role("admin", 0.01, 1)),
            {"exposed": "gateway", "client": "it-ws", "fileserver": "it-srv",
             "controller": "plc", "engineering": "ews"},
            (B("modbus-poll", 0.28, "hmi", "plc", "polling", MODBUS_POLL),
             B("s7-poll", 0.14, "hmi", "plc", "polling", S7_POLL),
             B("historian-poll", 0.05, "historian", "plc", "polling", S7_POLL),
             B("modbus-transactions", 0.06, "historian", "plc", "polling", MODBUS_TRANSACTION),
             B("engineering", 0.01, "ews", "plc", "office", EWS),
             B("historian-sql", 0.04, "historian", "it-srv", "always", HISTORIAN),
             B("monitoring", 0.02, "admin", "plc", "always", PING),
             *IT_MIX),
        ),
        Archetype(
            "cloud",
            "cloud tenant: public HTTPS APIs, east-west service calls, databases, SSH "
            "administration through a bastion, storage sync",
            (Role("edge", 0.06, 2), Role("api", 0.1, 2), Role("svc", 0.55, 5),
             Role("db", 0.06, 2), Role("infra", 0.02, 2), Role("bastion", 0.01, 1),
             Role("storage", 0.03, 1)),
            {"exposed": "edge", "client": "svc", "fileserver": "storage",
             "controller": "db", "engineering": "bastion"},
            (B("api-inbound", 0.33, INTERNET, "edge", "customers", API_IN),
             B("edge-to-api", 0.08, "edge", "api", "customers", EAST_WEST),
             B("east-west", 0.22, "svc", "svc", "customers", EAST_WEST),
             B("database", 0.1, "svc", "db", "customers", DB),
             B("health-checks", 0.08, "edge", "svc", "always", HEALTH),
             B("dns", 0.08, "svc", "infra", "customers", DNS),
             B("storage-sync", 0.03, "storage", INTERNET, "always", STORAGE),
             B("ssh-admin", 0.01, "bastion", "svc", "office", SSH),
             B("egress-api", 0.06, "svc", INTERNET, "customers", EGRESS_API),
             B("ntp", 0.01, "infra", INTERNET, "always", NTP)),
        ),
        Archetype(
            "corporate",
            "corporate endpoints: web and DNS by working hours, SMB file shares, directory, "
            "mail, RDP administration, printing, software updates, a public web site",
            (Role("ws", 0.82, 10), Role("srv", 0.06, 3), Role("dmz", 0.01, 1),
             Role("admin", 0.01, 1), Role("printer", 0.03, 1)),
            {"exposed": "dmz", "client": "ws", "fileserver": "srv",
             "controller": "srv", "engineering": "admin"},
            (B("web", 0.34, "ws", INTERNET, "office", WEB),
             B("dns", 0.22, "ws", "srv", "office", DNS),
             B("smb", 0.09, "ws", "srv", "office", SMB),
             B("directory", 0.07, "ws", "srv", "office", LDAP),
             B("mail", 0.05, "ws", "srv", "office", MAIL),
             B("updates", 0.02, "ws", INTERNET, "office", UPDATES),
             B("rdp-admin", 0.005, "admin", "srv", "office", RDP),
             B("printing", 0.02, "ws", "printer", "office", PRINT),
             B("web-inbound", 0.08, INTERNET, "dmz", "customers", API_IN),
             B("remote-rdp", 0.01, INTERNET, "dmz", "office", RDP),
             B("ntp", 0.02, "ws", "srv", "always", NTP)),
        ),
        Archetype(
            "critical-infra",
            "utility: a SCADA master polls RTUs over DNP3 and Modbus, ICCP links, HMIs, "
            "engineering workstations, plus an IT network",
            (Role("master", 0.01, 2), Role("rtu", 0.35, 4), Role("hmi", 0.04, 2),
             Role("ews", 0.02, 1), Role("historian", 0.01, 1), Role("it-ws", 0.45, 5),
             Role("it-srv", 0.04, 2), Role("gateway", 0.01, 1), Role("admin", 0.01, 1)),
            {"exposed": "gateway", "client": "it-ws", "fileserver": "it-srv",
             "controller": "rtu", "engineering": "ews"},
            (B("dnp3-poll", 0.25, "master", "rtu", "polling", DNP3_POLL),
             B("modbus-poll", 0.08, "master", "rtu", "polling", MODBUS_POLL),
             B("modbus-transactions", 0.05, "hmi", "rtu", "polling", MODBUS_TRANSACTION),
             B("iccp", 0.03, "master", INTERNET, "polling", S7_POLL),
             B("hmi-master", 0.05, "hmi", "master", "always", SCADA_LINK),
             B("historian-sql", 0.03, "historian", "it-srv", "always", HISTORIAN),
             B("engineering", 0.01, "ews", "rtu", "office", EWS),
             *IT_MIX),
        ),
        Archetype(
            "iot",
            "IoT fleet: sensors and thermostats send MQTT telemetry beacons to gateways, "
            "cameras stream to the cloud, a mobile app reaches the gateways",
            (Role("sensor", 0.6, 10), Role("camera", 0.1, 2), Role("thermostat", 0.2, 3),
             Role("gateway", 0.02, 2), Role("admin", 0.01, 1)),
            {"exposed": "gateway", "client": "sensor", "fileserver": "gateway",
             "controller": "thermostat", "engineering": "admin"},
            (B("telemetry", 0.3, "sensor", "gateway", "polling", MQTT),
             B("thermostat-telemetry", 0.15, "thermostat", "gateway", "polling", MQTT),
             B("cloud-sync", 0.12, "gateway", INTERNET, "always", IOT_CLOUD),
             B("camera-stream", 0.06, "camera", INTERNET, "always", CAMERA),
             B("dns", 0.15, "sensor", "gateway", "always", DNS),
             B("ntp", 0.06, "sensor", INTERNET, "always", NTP),
             B("firmware-check", 0.03, "sensor", INTERNET, "always", IOT_CLOUD),
             B("management", 0.01, "admin", "gateway", "office", SSH),
             B("app", 0.12, INTERNET, "gateway", "customers", API_IN)),
        ),
    )
}
# fmt: on
