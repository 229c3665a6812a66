"""The service-desk domain: SLA, chasing, notices, health-check schedules, inbox and task lists.

It acts on the process core through the core's hooks; the core never imports it.
"""
