"""The test workload as real pods: an HTTP service, its image, and a load generator.

:mod:`~crestline_dev.workload.server` is the service (standard library only, so its
image is the Debian-made base plus one file); :mod:`~crestline_dev.workload.loadgen`
drives it from a load trace; :mod:`~crestline_dev.workload.deploy` makes its Deployment.
"""
