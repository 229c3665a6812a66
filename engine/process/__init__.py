"""The process core: SpiffWorkflow runtime, definitions, persistence, timers, history.

It knows nothing of the service desk (engine.desk), which acts on it through hooks.
"""
