"""Time on a calendar: cron schedules, wall-clock times in a zone, instants, durations.

The lowest layer of the package: pure, standard library only. ``crestline.api``
validates specs with it and ``crestline.policy`` computes schedules with it.

- :mod:`~crestline.calendar.cron`: CronJob (robfig/cron v3) syntax and meaning, and
  wall-clock search by field arithmetic;
- :mod:`~crestline.calendar.zones`: a zone as segments of constant UTC offset;
- :mod:`~crestline.calendar.fires`: fire times as instants (the DST rule lives here);
- :mod:`~crestline.calendar.runs`: where a run of close fires starts and ends;
- :mod:`~crestline.calendar.wallclock`, :mod:`~crestline.calendar.instants`: one-off
  local times, RFC 3339 instants and durations as specs write them.
"""
