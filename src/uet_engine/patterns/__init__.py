"""Pattern automation: the loop from saved execution telemetry back to planning.

Execution logs are mined into pattern candidates (recurring successful task shapes) and anti-patterns
(recurring failures); people approve candidates into the pattern registry
(``patterns/registry/PATTERN_INDEX.yaml``) together with a phase template; templates write new phase
specs (``uet new phase --template``) and reusable acceptance checks (``verify: NAME``); and ``uet plan``
warns about tasks that match an active anti-pattern. Patterns reads the store through ``saving`` and
the task signatures through ``detection``; the CLI and planning's callers use it, execution does not.
"""
