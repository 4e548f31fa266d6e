"""The scenario library (YAML data); see ``simulators.scenario``."""
