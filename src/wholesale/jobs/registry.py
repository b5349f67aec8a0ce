"""Import every module that defines workflows, so a worker knows them all before it launches."""

from wholesale.jobs import probe, schedules  # noqa: F401
