"""Plain-Python model of RL Studio: experiment files, catalog, validation, events.

Nothing here imports Qt, and nothing imports Ray at import time.
"""
