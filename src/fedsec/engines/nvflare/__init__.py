"""Deployment across organizations on NVIDIA FLARE, hardened for a coordinator that may be
attacked.

Split by concept: :mod:`.provision` (project, startup kits, hardened site policies),
:mod:`.site_config` (what each organization's site reads and allows), :mod:`.plan` (the typed
messages a job carries), :mod:`.site` and :mod:`.executor` (the organization's side),
:mod:`.coordinator`, :mod:`.secure` and :mod:`.controller` (the coordinator's side),
:mod:`.job` (build, sign, submit and fetch a job) and :mod:`.poc` (a loopback federation).
Only :mod:`.executor`, :mod:`.controller`, :mod:`.provision` and :mod:`.job` import NVFlare.
"""
