"""A site's model acceptance gate: it refuses a global model only when its own validation rows
show a fall beyond their noise. One home for the deployed site and the in-process engine.

Its parts are imported from their modules (:mod:`.config`, :mod:`.judge`, :mod:`.transport`):
a scenario's ``[gate]`` section reads the config alone, without the judge's scikit-learn."""
