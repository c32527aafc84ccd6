"""FedAvg: McMahan, Moore, Ramage, Hampson and Agüera y Arcas, "Communication-Efficient Learning
of Deep Networks from Decentralized Data", AISTATS 2017.

Sites run local SGD from the global model; the coordinator takes the sample-weighted mean of
their models (with ``server_lr = 1``, exactly that mean).
"""

from __future__ import annotations

from fedsec.fl.strategies.base import Strategy


class FedAvg(Strategy):
    name = "fedavg"
    default_server_lr = 1.0
