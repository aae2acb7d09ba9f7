"""Command line: `python -m lisa.cli demo|run|service NAME|migrate|create-user|broker-setup|
dlq-list|dlq-replay|keys|reencrypt|prometheus-config|rebuild-projections|compose|k8s|healthcheck`.
Every command that concerns the services loops over the registry (lisa/platform.py).

eventlet must patch the standard library before anything opens a socket, hence the first lines.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import nameko  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

import shared.memory_transport  # noqa: E402,F401  (registers lisa-memory://)
from lisa import local, platform  # noqa: E402
from shared import config, identity, migrations, sealing  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.topology import declare_event_queues  # noqa: E402

log = logging.getLogger("lisa")


def setup_logging() -> None:
    logging.basicConfig(level=config.log_level(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("kombu", "amqp", "nameko", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def check_lifetimes() -> None:
    """Refuse to start with an absurd identity or token lifetime (ConfigurationError names the
    variable and its bounds)."""
    from services.gateway import auth

    try:
        config.identity_ttl_seconds()
        auth.token_ttl_seconds()
    except config.ConfigurationError as exc:
        sys.exit(str(exc))


def require_keys(names) -> None:
    """Refuse to start a distributed process without explicit keys: none has a default outside
    the embedded demo (ADR 12). One message naming every missing variable."""
    missing = [v for v in platform.key_variables(names) if not config.env(v)]
    advice = ("Generate a complete set with `python -m lisa.cli keys` (README, Keys); only "
              "`make demo` makes its own.")
    if missing:
        sys.exit(f"LISA cannot start: no key given in {', '.join(missing)}. {advice}")
    try:
        for name in names:
            identity.check_configuration(name)
        if any(platform.spec(name).seals_content for name in names):
            sealing.check_configuration()
    except config.ConfigurationError as exc:
        sys.exit(f"LISA cannot start: {exc} {advice}")


def database_for(name: str) -> Database:
    spec = platform.spec(name)
    return Database(spec.metadata, service=name).open(config.database_url(name))


def migrate(names=None) -> None:
    """Apply every service's migrations and shipped reference data; declare the event queues."""
    for spec in platform.specs():
        if names and spec.name not in names:
            continue
        migrations.upgrade(spec)
        if spec.seed_reference is not None:
            database = database_for(spec.name)
            with database.session() as session:
                spec.seed_reference(session, config.antenna_id())
                session.commit()
            database.engine.dispose()
    declared = declare_event_queues(config.amqp_uri(), platform.service_classes(),
                                    config.event_retry_delays())
    log.info("migrations applied; %d event queues declared", declared)


def seed_demo() -> tuple[list[str], str]:
    """Every service's demo data; returns what was made now and the antenna."""
    from lisa import demo

    antenna = config.antenna_id()
    return demo.seed(database_for, antenna), antenna


def run_containers(service_classes) -> None:
    runner = ServiceRunner()
    for cls in service_classes:
        runner.add_service(cls)

    stopping = []

    def shutdown(signum, frame):
        if not stopping:  # a second signal (e.g. from a wrapper) must not stop twice
            stopping.append(signum)
            eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    runner.wait()


def cmd_demo(args) -> None:
    """Embedded: every service in this process, in-memory broker, SQLite under var/."""
    os.environ.setdefault("LISA_AMQP_URI", config.EMBEDDED_AMQP_URI)
    if not config.is_embedded():
        sys.exit("make demo is the embedded mode; unset LISA_AMQP_URI or use `make run`.")
    keys_path = config.var_dir() / "keys.env"
    os.environ.update(local.demo_keys(config.var_dir()))   # the demo's own, never a default
    check_lifetimes()
    migrate()
    made, antenna = seed_demo()
    classes = platform.service_classes()
    url = f"http://{config.http_host()}:{config.http_port()}"
    print(f"""
LISA platform, embedded demo: antenna '{antenna}', services {', '.join(platform.names())};
created now: {', '.join(made) or 'nothing (the demo data exists already)'}.
  Gateway      {url}/api/v1/   (OpenAPI: {url}/api/v1/openapi.json)
  Health       {url}/healthz  {url}/readyz   Metrics: {url}/metrics
  Keys         {keys_path} (this demo's own; `make run` needs yours: python -m lisa.cli keys)
  Accounts     (password 'demo', embedded mode only)""")
    from lisa.demo import DEMO_ACCOUNTS

    for username, (role, organisation) in DEMO_ACCOUNTS.items():
        print(f"    {username:<13} role {role:<14} organisation {organisation}")
    print(f"""  Try         curl -s -X POST {url}/api/v1/auth/token \\
                   -d '{{"username": "desk", "password": "demo"}}'
""", flush=True)
    with nameko.config.patch(config.nameko_config()):
        run_containers(classes)


def check_broker_user(name: str) -> bool:
    """True if service `name` connects as its own broker user; else one loud warning line
    (review of issue 7, finding 5): consumers then cannot tell who published an event."""
    if config.broker_users_enforced(name):
        return True
    log.warning("SECURITY: %s connects to the broker as %r, not as its own user %r: broker "
                "users are NOT enforced and anyone who reaches the broker can publish its "
                "events (run `python -m lisa.cli broker-setup` and set %s; ADR 11)",
                name, config.amqp_user(config.amqp_uri(name)), config.broker_user(name),
                config.SERVICE_AMQP_URI.name(name))
    return False


def cmd_service(args) -> None:
    """Distributed: one service (plus its ops endpoints) in this process."""
    spec = platform.spec(args.name)
    require_keys([spec.name])
    check_lifetimes()
    classes = [platform.service_class(spec.name)]
    if spec.ops:
        classes.append(spec.ops)
    port = platform.port(spec)
    if check_broker_user(spec.name):
        from shared.rpc import expect_declared_topology

        expect_declared_topology()   # migrate declared it; this user may not
    log.info("starting %s (http %s:%s, broker %s as %s)", spec.name, config.http_host(), port,
             config.amqp_uri(spec.name).split("@")[-1],
             config.amqp_user(config.amqp_uri(spec.name)))
    with nameko.config.patch(config.nameko_config(web_port=port, service=spec.name)):
        run_containers(classes)


def parse_replicas(text: str | None) -> dict[str, int]:
    """`incidents=2,tags=2` -> {"incidents": 2, "tags": 2}; every other service runs once."""
    replicas = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, _, count = item.partition("=")
        name = name.strip()
        if name not in platform.names():
            raise ValueError(f"{name!r} is not a registered service "
                             f"({', '.join(platform.names())})")
        if not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"{name}: the replica count must be a whole number >= 1, "
                             f"not {count!r}")
        replicas[name] = int(count)
    return replicas


def replica_port(name: str, replica: int) -> int:
    """Replica 0 serves a service's HTTP endpoints at its port; replica k at that port + 100 k."""
    return platform.port(platform.spec(name)) + REPLICA_PORT_STEP * replica


REPLICA_PORT_STEP = 100


def child_env(name: str, environ: dict) -> dict:
    """The environment of the process running service `name` under `make run`: the parent's
    minus every secret that is not this service's own (review of issue 7, finding 4): other
    services' signing keys, broker URIs (passwords) and database URLs, the operator's broker
    URI (replaced by the service's own, when it has one), and the encryption keys unless its
    spec seals content. Public keys and the audience are for everyone."""
    names = platform.names()
    foreign = {variable for other in names for variable in (
        config.signing_key_variable(other), config.SERVICE_AMQP_URI.name(other),
        config.SERVICE_DATABASE_URL.name(other))}
    foreign.add(config.ENCRYPTION_KEYS_VARIABLE)
    own = [config.signing_key_variable(name), config.SERVICE_AMQP_URI.name(name),
           config.SERVICE_DATABASE_URL.name(name)]
    if platform.spec(name).seals_content:
        own.append(config.ENCRYPTION_KEYS_VARIABLE)
    env = {key: value for key, value in environ.items() if key not in foreign}
    env.update({key: environ[key] for key in own if key in environ})
    own_uri = environ.get(config.SERVICE_AMQP_URI.name(name))
    if own_uri:
        env[config.AMQP_URI.variable] = own_uri   # not the operator's
    return env


def cmd_run(args) -> None:
    """Distributed on this machine: migrations first, then one process per service replica
    (`--replicas incidents=2,tags=2` or LISA_REPLICAS; the replicas of a service share its
    queues, so the broker hands each message to one of them), each restarted if it dies (as an
    orchestrator would: nameko stops a container that cannot reach the broker in the middle of a
    reply, and the outbox makes the restart lose nothing)."""
    try:
        replicas = parse_replicas(args.replicas or config.REPLICAS.text())
    except ValueError as exc:
        sys.exit(f"lisa run: {exc}")
    require_keys(platform.names())
    check_lifetimes()
    os.environ.setdefault("LISA_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//")
    os.environ.setdefault("LISA_DATABASE_URL", "postgresql://127.0.0.1:5432/lisa_{service}")
    migrate()

    def start(name, replica):
        variable = platform.port_variable(platform.spec(name))
        env = {**child_env(name, dict(os.environ)), variable: str(replica_port(name, replica))}
        return subprocess.Popen([sys.executable, "-m", "lisa.cli", "service", name], env=env)

    processes = {(name, replica): start(name, replica) for name in platform.names()
                 for replica in range(replicas.get(name, 1))}
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)
        for process in processes.values():
            process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    several = ", ".join(f"{name} {count}" for name, count in replicas.items() if count > 1)
    print(f"LISA distributed: {len(processes)} processes"
          f"{f' (replicas: {several})' if several else ''}; gateway on "
          f"http://{config.http_host()}:{config.http_port()}; Ctrl-C stops.",
          flush=True)
    while not stopping:
        for (name, replica), process in list(processes.items()):
            if process.poll() is not None and not stopping:
                log.warning("%s exited with %s; restarting it", name, process.returncode)
                time.sleep(1)
                processes[name, replica] = start(name, replica)
        time.sleep(0.5)
    for process in processes.values():
        process.wait(timeout=30)


def cmd_migrate(args) -> None:
    migrate(args.services or None)
    print("migrations applied")


def cmd_create_user(args) -> None:
    """A user of the HTTP edge (the gateway keeps the users)."""
    from services.gateway import auth

    database = database_for(platform.edge().name)
    with database.session() as session:
        auth.create_user(session, args.username, args.password, args.role, args.organisation,
                         args.antenna or [config.antenna_id()])
        session.commit()
    print(f"user {args.username} ready")


def cmd_broker_setup(args) -> None:
    from lisa import broker

    try:
        users = broker.setup_users()
    except broker.BrokerSetupError as exc:
        sys.exit(f"broker-setup: {exc}")
    print(f"broker users ready: {', '.join(users)}")


def cmd_dlq_list(args) -> None:
    """One line per letter: when, consumer, event, attempts, reason (its first line)."""
    from shared.handlers import list_dead_letters

    letters = list_dead_letters(config.amqp_uri(), parked=args.parked)
    for letter in letters:
        reason = (letter.get("reason") or "").strip().splitlines() or [""]
        print(f"{letter.get('failed_at')}  {letter.get('consumer')}  "
              f"{letter.get('event_type')}  {letter.get('event_id')}  "
              f"attempts={letter.get('attempts')} replays={letter.get('replays')}  "
              f"{reason[-1] if reason[0].startswith('Traceback') else reason[0]}")
    print(f"{len(letters)} {'parked' if args.parked else 'dead'} letters")


def cmd_dlq_replay(args) -> None:
    from shared.handlers import replay_dead_letters

    counts = replay_dead_letters(config.amqp_uri(), consumer=args.consumer,
                                 event_id=args.event_id, limit=args.limit, parked=args.parked)
    print(f"replayed {counts['replayed']}, parked {counts['parked']}, "
          f"left {counts['kept']} {'parked' if args.parked else 'dead'} letters")
    if counts.get("needs"):
        sys.exit(f"dlq-replay: letters kept: their consumers accept a replay only from their own "
                 f"broker user; run this where {', '.join(counts['needs'])} "
                 f"{'is' if len(counts['needs']) == 1 else 'are'} set (deploy/README.md, "
                 f"Dead letters and replay)")


def cmd_prometheus_config(args) -> None:
    """The Prometheus scrape configuration for `make run`, at this environment's ports (the
    committed deploy/prometheus/prometheus.yml is this at the default ones)."""
    ports = {spec.name: platform.port(spec) for spec in platform.specs()}
    print(platform.prometheus_config(ports, host=args.host), end="")


def cmd_compose(args) -> None:
    """docker-compose.yml, .env.example and Prometheus's compose scrape file from the registry;
    `--env`: print a filled .env (fresh keys and passwords) instead."""
    from lisa import deploy

    if args.env:
        print(deploy.env_example_text(deploy.fresh_env()), end="")
        return
    for path in deploy.write_files("compose"):
        print(f"wrote {path.relative_to(config.PROJECT_ROOT)}")


def cmd_k8s(args) -> None:
    """k8s/base/services/: each registered service's Kubernetes resources."""
    from lisa import deploy

    for path in deploy.write_files("k8s"):
        print(f"wrote {path.relative_to(config.PROJECT_ROOT)}")


def cmd_healthcheck(args) -> None:
    """Exit 0 when this container's service answers /healthz (the image's HEALTHCHECK). Without
    a name, the service is read off the container's command (PID 1: `lisa.cli service NAME`);
    a one-shot step (migrate, broker-setup) is healthy while it runs."""
    import requests

    name = args.name
    if name is None:
        try:
            command = open("/proc/1/cmdline").read().split("\0")
        except OSError:
            command = []
        if "service" not in command[:-1]:
            return
        name = command[command.index("service") + 1]
    if name not in platform.names():
        sys.exit(f"healthcheck: {name!r} is not a registered service")
    url = f"http://127.0.0.1:{platform.port(platform.spec(name))}/healthz"
    try:
        healthy = requests.get(url, timeout=4).status_code == 200
    except requests.RequestException:
        healthy = False
    if not healthy:
        sys.exit(f"healthcheck: {url} does not answer 200")


def cmd_keys(args) -> None:
    """A complete env file of fresh keys for an operator (ADR 12 says how to rotate them)."""
    print(local.env_file_text(local.fresh_keys()), end="")


def cmd_reencrypt(args) -> None:
    """After putting a new key first in LISA_ENCRYPTION_KEYS: encrypt the content of every
    service that seals content with it, so the old keys can be removed. Safe to run again."""
    try:
        sealing.check_configuration()
    except config.ConfigurationError as exc:
        sys.exit(f"LISA cannot re-encrypt: {exc}")
    for spec in platform.specs():
        if spec.reseal is None:
            continue
        database = database_for(spec.name)
        with database.session() as session:
            count = spec.reseal(session)
        database.engine.dispose()
        print(f"{spec.name}: {count} records re-encrypted with the first key of "
              f"{config.ENCRYPTION_KEYS_VARIABLE}")


def cmd_rebuild_projections(args) -> None:
    """Recompute the projections of every service that keeps an event store (indicators) from
    that store, in one transaction each: readers see the old figures until it commits."""
    for spec in platform.specs():
        if spec.rebuild_projections is None or (args.services and spec.name not in
                                                args.services):
            continue
        database = database_for(spec.name)
        started = time.perf_counter()
        with database.session() as session:
            made = spec.rebuild_projections(session)
            session.commit()
        database.engine.dispose()
        print(f"{spec.name}: projections rebuilt in {time.perf_counter() - started:.2f}s: "
              + ", ".join(f"{count} {table}" for table, count in made.items()))


def main(argv=None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(prog="lisa")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="embedded platform with demo data").set_defaults(
        func=cmd_demo)
    run = commands.add_parser("run", help="distributed: one process per service replica")
    run.add_argument("--replicas", help="processes per service, e.g. incidents=2,tags=2 "
                     "(default LISA_REPLICAS; others run once)")
    run.set_defaults(func=cmd_run)
    service = commands.add_parser("service", help="run one service (distributed)")
    service.add_argument("name", choices=platform.names())
    service.set_defaults(func=cmd_service)
    migrate_cmd = commands.add_parser("migrate", help="apply migrations and reference data")
    migrate_cmd.add_argument("services", nargs="*")
    migrate_cmd.set_defaults(func=cmd_migrate)
    user = commands.add_parser("create-user", help="create or update a user")
    for option in ("username", "password", "role", "organisation"):
        user.add_argument(f"--{option}", required=True)
    user.add_argument("--antenna", action="append")
    user.set_defaults(func=cmd_create_user)
    commands.add_parser(
        "broker-setup", help="one RabbitMQ user per service (LISA_<SERVICE>_AMQP_URI)"
    ).set_defaults(func=cmd_broker_setup)
    listing = commands.add_parser("dlq-list", help="list dead letters with their reasons")
    listing.add_argument("--parked", action="store_true", help="the parked letters instead")
    listing.set_defaults(func=cmd_dlq_list)
    replay = commands.add_parser(
        "dlq-replay", help="send dead letters held now back to their consumer; park re-failures")
    replay.add_argument("--consumer", help="only this consumer's, e.g. tags.on_incident_reported")
    replay.add_argument("--event-id", help="only this event's")
    replay.add_argument("--limit", type=int)
    replay.add_argument("--parked", action="store_true",
                        help="replay parked letters (deliberately: they failed after a replay "
                             "already); one that fails again is parked again")
    replay.set_defaults(func=cmd_dlq_replay)
    commands.add_parser("keys", help="print a complete env file of fresh keys").set_defaults(
        func=cmd_keys)
    scrape = commands.add_parser("prometheus-config",
                                 help="print Prometheus's scrape configuration for `make run`")
    scrape.add_argument("--host", default="127.0.0.1")
    scrape.set_defaults(func=cmd_prometheus_config)
    compose = commands.add_parser("compose", help="write docker-compose.yml, .env.example and "
                                  "deploy/prometheus/compose.yml from the registry")
    compose.add_argument("--env", action="store_true",
                         help="print a filled .env (fresh keys and passwords) instead")
    compose.set_defaults(func=cmd_compose)
    commands.add_parser("k8s", help="write k8s/base/services/ from the registry").set_defaults(
        func=cmd_k8s)
    health = commands.add_parser("healthcheck", help="exit 0 when this container's service "
                                 "answers /healthz")
    health.add_argument("name", nargs="?")
    health.set_defaults(func=cmd_healthcheck)
    sealing = ", ".join(spec.name for spec in platform.specs() if spec.seals_content)
    commands.add_parser("reencrypt", aliases=["reencrypt-referrals"],
                        help=f"re-encrypt sealed content ({sealing}) with the first encryption "
                        "key").set_defaults(func=cmd_reencrypt)
    rebuild = commands.add_parser(
        "rebuild-projections", aliases=["indicators-rebuild"],
        help="recompute projections from the event store (indicators), in SQL")
    rebuild.add_argument("services", nargs="*")
    rebuild.set_defaults(func=cmd_rebuild_projections)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
