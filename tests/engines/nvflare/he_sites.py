"""An HE site that trained round 1 under a test project's kit keys, and decryption requests
crafted as a (hostile) coordinator would: other sites' ciphertexts, signed by their own keys."""

from __future__ import annotations

import numpy as np

from fedsec.engines.nvflare.he_lists import sign_list
from fedsec.engines.nvflare.he_signed import sign_ciphertext
from fedsec.engines.nvflare.site import Site
from fedsec.engines.nvflare.site_config import SecureAggregationConfig, config_from_scenario
from fedsec.fl.privacy import he
from tests.engines.nvflare.kits import Project
from tests.engines.nvflare.memory import he_kit
from tests.engines.nvflare.site_requests import train_request

JOB = "he-job"


class Consortium:
    """Site ``plant`` (kit keys of ``project``) with an encrypted round-1 update pending, and
    the ciphertexts other sites would send, each signed by its own kit key."""

    def __init__(self, consortium, keyed: bool = True, **parties) -> None:
        data, scenario = consortium
        self.project = Project()
        self.keys = {n: self.project.identity(n) for n in ("plant", "cloud", "office", "mallory")}
        config = config_from_scenario(scenario, "plant", data, False)
        secure = SecureAggregationConfig(**parties)
        self.site = Site(
            config.model_copy(update={"secure_aggregation": secure}),
            data,
            keys=self.keys["plant"] if keyed else None,
            job=JOB,
            he_key=he_kit()[0],
        )
        request, _ = train_request(self.site, consortium)
        plan = request["plan"] | {"sampled": 3, "protection": {"homomorphic_encryption": True}}
        reply = self.site.handle("fedsec_train", request | {"plan": plan})
        self.length = self.site.he.pending.length
        self.own = {"ciphertext": reply["encrypted"], "signed": reply.get("encrypted_signed")}
        self.values = {n: np.full(self.length, i + 1.0) for i, n in enumerate(["cloud", "office"])}

    def encrypted(self, name: str, round_: int = 1, job: str = JOB, signer: str | None = None):
        """``name``'s update (all ``i + 1``), signed by ``signer`` (its own kit by default)."""
        values = self.values.get(name, np.zeros(self.length))
        chunks = he.encrypt(self.site.he.context(), values)
        return {"ciphertext": chunks, "signed": self.sign(signer or name, chunks, round_, job)}

    def sign(self, name: str, chunks, round_: int = 1, job: str = JOB):
        return sign_ciphertext(self.keys[name], job, round_, chunks)

    def request(
        self, updates: dict, total: list[bytes] | None = None, round_: int = 1, listed: bool = True
    ) -> dict:
        """A decryption request over ``updates`` (plant's own added unless given); ``total``:
        what the coordinator says the sum is (the true sum by default). Each other contributor
        signed the list; ``listed``: plant was asked to sign it first (it signs one a round)."""
        updates = {"plant": self.own} | updates
        names = sorted(updates)
        if total is None:
            total = he.add(he_kit()[1], [updates[n]["ciphertext"] for n in names], "sum")
        lists = {n: self.sign_list(n, names, round_) for n in names if n != "plant"}
        lists["plant"] = self.list_signed(names, round_) if listed else None
        fields = {"contributors": names, "updates": updates, "total": he.digest(total)}
        return {"round": round_, "lists": lists} | fields

    def list_signed(self, names: list[str], round_: int = 1) -> dict | None:
        """Plant's answer to ``fedsec_he_contributors`` over ``names``."""
        asked = {"round": round_, "contributors": names}
        return self.site.handle("fedsec_he_contributors", asked)["signed"]

    def sign_list(self, name: str, names: list[str], round_: int = 1, job: str = JOB):
        return sign_list(self.keys[name], job, round_, names)

    def decrypt(self, task: dict) -> np.ndarray:
        return self.site.handle("fedsec_he_decrypt", task)["total"]

    def plaintext(self, update: dict) -> np.ndarray:
        """What ``update`` holds (the test holds the consortium's key too)."""
        return he.decrypt(self.site.he.context(), update["ciphertext"], self.length, "test")
