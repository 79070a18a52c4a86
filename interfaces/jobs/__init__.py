"""Background jobs (dramatiq): the broker, the worker, and the jobs themselves.

Wire them in an app factory or CLI command::

    configure_broker(settings)      # once per process, before enqueueing or working
    mailer = make_mailer(settings)  # the application's Mailer port
"""

from interfaces.jobs.broker import configure_broker, current_settings, job, run_worker
from interfaces.jobs.mail import (
    DramatiqMailer,
    LogMailer,
    TemplateError,
    make_mailer,
    render,
    send_email,
)

__all__ = [
    "DramatiqMailer",
    "LogMailer",
    "TemplateError",
    "configure_broker",
    "current_settings",
    "job",
    "make_mailer",
    "render",
    "run_worker",
    "send_email",
]
