"""Time on a calendar: cron expressions, wall-clock times in a zone, instants, durations.

The lowest layer of the package: pure, standard library only. ``crestline.api``
validates specs with it and ``crestline.policy`` computes schedules with it.
"""
