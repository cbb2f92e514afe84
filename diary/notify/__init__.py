"""Notifications (SPEC §7): an outbox written with the event, delivered by a job.

outbox.py decides who gets what (routing) and enqueues rows; delivery.py
claims due rows and sends them through email.py (SMTP or the log) and
webpush.py (VAPID); messages.py renders what people read; queries.py holds
the SQL; views.py the push-subscription and staff-visibility endpoints.
"""
