"""Names the dead-code check (vulture, see [tool.vulture] in pyproject.toml) must not report.

Each entry is reached by something vulture cannot see (a framework, a dotted path in a
configuration, a ``getattr`` dispatch), or is public API that tests and docs exercise on purpose.
Dead code does not belong here: delete it. Entries are ``vulture --make-whitelist`` lines.
"""

# pydantic: schema fields of a bundle manifest, validated on load (a bundle of another format
# version is refused) though no code reads them back.
_.version  # unused variable (src/fedsec/bundles/manifest.py:101)
_.fedsec_version  # unused variable (src/fedsec/bundles/manifest.py:102)
# ... and of a signature block, whose algorithm picks the block's type (pydantic discriminator).
_.algorithm  # unused variable (src/fedsec/bundles/signing.py:243)

# typer: the --version option's value is consumed by its eager callback (show_version).
_.version  # unused variable (src/fedsec/cli/main.py:34)

# rich: the Console size setter writes rich's own private fields, which rich reads.
_._height  # unused attribute (src/fedsec/cli/common.py:44)
_._width  # unused attribute (src/fedsec/cli/common.py:44)

# Drain3: settings of its TemplateMinerConfig, read by Drain3.
_.masking_instructions  # unused attribute (src/fedsec/data/logs/drain.py:115)
_.mask_prefix  # unused attribute (src/fedsec/data/logs/drain.py:116)
_.mask_suffix  # unused attribute (src/fedsec/data/logs/drain.py:116)
_.drain_sim_th  # unused attribute (src/fedsec/data/logs/drain.py:117)
_.drain_depth  # unused attribute (src/fedsec/data/logs/drain.py:118)
_.profiling_enabled  # unused attribute (src/fedsec/data/logs/drain.py:119)

# NVFlare: components named by dotted path in the provisioned kits and job configs, and the
# hooks NVFlare calls on them (signatures fixed by NVFlare).
_.FedsecController  # unused class (src/fedsec/engines/nvflare/controller.py:72)
_.start_controller  # unused method (src/fedsec/engines/nvflare/controller.py:84)
_.control_flow  # unused method (src/fedsec/engines/nvflare/controller.py:102)
_.stop_controller  # unused method (src/fedsec/engines/nvflare/controller.py:151)
_.process_result_of_unknown_task  # unused method (src/fedsec/engines/nvflare/controller.py:154)
_.client_task_id  # unused variable (src/fedsec/engines/nvflare/controller.py:155)
_.FedsecExecutor  # unused class (src/fedsec/engines/nvflare/executor.py:35)
_.execute  # unused method (src/fedsec/engines/nvflare/executor.py:40)
_.KitKeyGuard  # unused class (src/fedsec/engines/nvflare/keyguard.py:40)
_.HardeningBuilder  # unused class (src/fedsec/engines/nvflare/provision.py:176)
_.StaleJobRecovery  # unused class (src/fedsec/engines/nvflare/recovery.py:19)

# Site task handlers, dispatched by getattr from the task name ("fedsec_secagg_share" ...).
_.secagg_share  # unused method (src/fedsec/engines/nvflare/site.py:243)
_.secagg_mask  # unused method (src/fedsec/engines/nvflare/site.py:246)
_.secagg_confirm  # unused method (src/fedsec/engines/nvflare/site.py:249)
_.secagg_reveal  # unused method (src/fedsec/engines/nvflare/site.py:252)
_.he_decrypt  # unused method (src/fedsec/engines/nvflare/site.py:266)

# torch and Opacus: nn.Module.forward (called by __call__) and DPOptimizer's noise hook.
_.forward  # unused method (src/fedsec/models/autoencoder.py:58)
_.forward  # unused method (src/fedsec/models/deeplog.py:57)
_.forward  # unused method (src/fedsec/models/mlp.py:44)
_.forward  # unused method (src/fedsec/models/svdd.py:58)
_.add_noise  # unused method (src/fedsec/training/dpsgd.py:34)

# Public API exercised on purpose by tests and documented: the generator of docs/taxonomy.md.
_.mapping_markdown  # unused function (src/fedsec/data/taxonomy.py:233)

# Catalogue data: the ATT&CK tactic each simulated technique belongs to (reference for readers).
_.tactic  # unused variable (src/fedsec/simulator/techniques.py:26)

# TenSEAL reads the context's global_scale.
_.global_scale  # unused attribute (src/fedsec/fl/privacy/he.py)

# The recording transport's record of each exchange: what a site received and sent, read by
# whoever inspects a recorded run (tests/engines/test_recording.py).
_.received  # unused variable (src/fedsec/engines/recording.py)
_.sent  # unused variable (src/fedsec/engines/recording.py)

# fedsec's ECS custom fields with their types: the schema alerts are checked against
# (tests/detect/ecs_schema.py) and the mapping a SIEM index needs for them (docs/detect.md).
_.FEDSEC_FIELDS  # unused variable (src/fedsec/detect/ecs.py)

# Site.dp_steps: the DP-SGD steps its training reported taking, kept apart from the ledger's
# charges (what the ledger reads is the round's plan) so that tests check one against the other.
_.dp_steps  # unused attribute (src/fedsec/engines/nvflare/site.py:103)
