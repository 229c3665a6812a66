"""The forms of the seed processes, one module per process plus the shared ones; forms/registry.py indexes them."""
