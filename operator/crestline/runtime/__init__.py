"""The runtime: schedules evaluations, observes the outside systems through adapters,
calls the pure plan, applies what it allows, and reports.
"""
