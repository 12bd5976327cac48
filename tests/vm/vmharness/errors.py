"""The harness's two failure kinds: a broken machine (no tool, no package) is never a
skipped test, and a scenario failure carries the message the report prints."""


class PrereqError(Exception):
    """A prerequisite (tool, package, kernel, binary) is missing: the run fails."""


class ScenarioError(Exception):
    """A scenario's definition or one of its runs is wrong."""
