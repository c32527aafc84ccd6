"""A compromised coordinator, for the loopback federation test only.

fedsec's own controller, but its transport attacks round 1's secure aggregation (attack (b) of
the issue): the victim is told it masks alone, every site is then told that all of them
survived, and the coordinator relays whatever confirmations it got and asks for the reveals
(at the confirmation phase, or at the reveal phase of a protocol without one).
It keeps the evidence in ``fedsec/attack.json`` (and the vector it recovered, if any, in
``attack.safetensors``) beside the job's result. The test ships this file as the custom code of
the job's server app only: the sites run fedsec's unmodified executor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from fedsec.core import atomic
from fedsec.engines.nvflare.controller import FedsecController, FlareTransport
from fedsec.engines.nvflare.coordinator import Coordinator
from fedsec.engines.nvflare.results import RESULT_DIR
from fedsec.fl.privacy.secagg import crypto, shamir
from fedsec.fl.privacy.secagg.encoding import decode

VICTIM = "plant"
ROUND = 1


class Isolating(FlareTransport):
    def __init__(self, controller, fl_ctx, abort, folder: Path) -> None:
        super().__init__(controller, fl_ctx, abort)
        self.folder = folder
        self.masked: Any = None
        self.participants: list[str] = []
        self.refusals: dict[str, str] = {}

    def exchange(self, task, data, targets, timeout):
        round_ = data["plan"]["round"] if task == "fedsec_train" else data.get("round")
        if round_ != ROUND:
            return super().exchange(task, data, targets, timeout)
        if task == "fedsec_train":
            self.save_train_task(data)
        if task == "fedsec_secagg_mask":
            return self.isolate(data, targets, timeout)
        if task in ("fedsec_secagg_confirm", "fedsec_secagg_reveal"):  # whichever comes first
            return self.everyone_survived(timeout, confirm=task == "fedsec_secagg_confirm")[task]
        return super().exchange(task, data, targets, timeout)

    def isolate(self, data, targets, timeout):
        self.participants = sorted(data["participants"])
        alone = data | {"participants": [VICTIM]}
        replies = super().exchange("fedsec_secagg_mask", alone, [VICTIM], timeout)
        others = [t for t in targets if t != VICTIM]
        replies |= super().exchange("fedsec_secagg_mask", data, others, timeout)
        self.masked = replies.get(VICTIM)
        self.note(replies)
        return replies

    def everyone_survived(self, timeout, confirm: bool):
        view = {"round": ROUND, "survivors": self.participants, "dropped": []}
        confirmed = {}
        if confirm:
            confirmed = super().exchange("fedsec_secagg_confirm", view, self.participants, timeout)
        relayed = {s: r["confirmation"] for s, r in confirmed.items() if isinstance(r, dict)}
        revealed = super().exchange(
            "fedsec_secagg_reveal", view | {"confirmations": relayed}, self.participants, timeout
        )
        self.note(confirmed)
        self.note(revealed)
        self.conclude(revealed)
        return {"fedsec_secagg_confirm": confirmed, "fedsec_secagg_reveal": revealed}

    def note(self, replies):
        """Each site's first refusal (later ones repeat it)."""
        for site, reply in replies.items():
            if isinstance(reply, str):
                self.refusals.setdefault(site, str(reply))

    def conclude(self, revealed):
        reveals = [
            r for reply in revealed.values() if isinstance(reply, dict) for r in reply["reveals"]
        ]
        shares = {
            r["index"]: r["share"] for r in reveals if r["owner"] == VICTIM and r["kind"] == "seed"
        }
        masked = self.masked.get("masked") if isinstance(self.masked, dict) else None
        recovered = None
        if masked is not None and shares:
            seed = shamir.combine(shares, len(shares))
            stream = crypto.keystream(seed, len(masked))
            recovered = decode((masked.astype(np.uint32) - stream).astype(np.uint32))
            save_file({"recovered": recovered}, str(self.folder / "attack.safetensors"))
        evidence = {
            "victim": VICTIM,
            "masked_update_received": masked is not None,
            "reveals": len(reveals),
            "recovered": recovered is not None,
            "refusals": self.refusals,
        }
        atomic.write_text(self.folder / "attack.json", json.dumps(evidence, indent=2))

    def save_train_task(self, data):
        """What the victim trained on, so the test can compute its true update."""
        params = {f"params/{i}": np.ascontiguousarray(p) for i, p in enumerate(data["params"])}
        save_file(params, str(self.folder / "round1-params.safetensors"))
        task = {"plan": data["plan"], "model": data["model"]}
        atomic.write_text(self.folder / "round1-task.json", json.dumps(task))


class CompromisedController(FedsecController):
    def control_flow(self, abort_signal, fl_ctx) -> None:
        sites = [c.name for c in fl_ctx.get_engine().get_clients()]
        run_dir = Path(fl_ctx.get_engine().get_workspace().get_run_dir(fl_ctx.get_job_id()))
        folder = run_dir / RESULT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        transport = Isolating(self, fl_ctx, abort_signal, folder)
        log = lambda m: self.log_info(fl_ctx, m)  # noqa: E731
        result = Coordinator(self.spec, transport, sites, log).run()
        self._save(result, fl_ctx)
