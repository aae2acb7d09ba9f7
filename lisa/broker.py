"""`python -m lisa.cli broker-setup`: one RabbitMQ user per service, allowed to write only to its
own exchanges (docs/adr/0011-events-broker-users-and-trust.md).

Each service's user, password and vhost come from its `LISA_<SERVICE>_AMQP_URI`, the URI that
service connects with, so the setup and the services cannot disagree. The user must be
`config.broker_user(service)` (`lisa-<service>`): consumers demand that an event's validated
`user_id` is its owner's. Idempotent: an existing user gets the password again and its
permissions are set anew. Uses `rabbitmqctl` (works without the management plugin); passwords
go to it on standard input, never on a command line.
"""
from kombu.utils.url import url_to_parts

from lisa import platform
from lisa.local import rabbitmqctl
from shared import config, topology


class BrokerSetupError(ValueError):
    pass


def planned_users() -> list[dict]:
    """What `setup_users` would do, from the environment; raises BrokerSetupError naming every
    missing or wrong variable."""
    plans, problems = [], []
    classes = platform.service_classes()
    for spec in platform.specs():
        variable = config.SERVICE_AMQP_URI.name(spec.name)
        uri = config.env(variable)
        if not uri:
            problems.append(f"{variable} is not set")
            continue
        parts = url_to_parts(uri)
        if parts.username != config.broker_user(spec.name) or not parts.password:
            problems.append(f"{variable} must connect as {config.broker_user(spec.name)} "
                            "with a password")
            continue
        configure, write, read = topology.broker_permissions(spec.name, classes)
        plans.append({"service": spec.name, "user": parts.username, "password": parts.password,
                      "vhost": parts.path or "/", "configure": configure,
                      "write": write, "read": read,
                      "topics": topology.topic_permissions(spec.name, tuple(spec.publishes))})
    if problems:
        raise BrokerSetupError("; ".join(problems))
    return plans


def setup_users() -> list[str]:
    """Create or update every service's broker user and its permissions; returns the users."""
    plans = planned_users()
    existing = set(rabbitmqctl("list_users", "--no-table-headers").split())
    for plan in plans:
        if plan["user"] in existing:
            rabbitmqctl("change_password", plan["user"], stdin=plan["password"] + "\n")
        else:
            rabbitmqctl("add_user", plan["user"], stdin=plan["password"] + "\n")
        rabbitmqctl("set_permissions", "-p", plan["vhost"], plan["user"], plan["configure"],
                    plan["write"], plan["read"])
        rabbitmqctl("clear_topic_permissions", "-p", plan["vhost"], plan["user"])
        for exchange, write, read in plan["topics"]:
            rabbitmqctl("set_topic_permissions", "-p", plan["vhost"], plan["user"], exchange,
                        write, read)
    return [plan["user"] for plan in plans]
