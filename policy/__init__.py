"""The Archipelago policy pack: rules in ``rules.py``, their pulumi-policy wrappers in ``pack.py``."""
