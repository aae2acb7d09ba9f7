"""`make run` gives each service's process only its own secrets (review of issue 7, finding 4):
its signing key, its broker URI (in place of the operator's), its database URL, the encryption
keys only if its spec seals content; public keys and audience for all."""
from lisa import platform
from lisa.cli import child_env
from lisa.local import fresh_keys
from shared import config


def environment():
    env = {"PATH": "/usr/bin", "LISA_AMQP_URI": "pyamqp://admin:operator@127.0.0.1:5672/v",
           "LISA_DATABASE_URL": "postgresql://127.0.0.1:5432/lisa_{service}", **fresh_keys()}
    for name in platform.names():
        env[config.SERVICE_AMQP_URI.name(name)] = f"pyamqp://lisa-{name}:pw-{name}@h:5672/v"
        env[config.SERVICE_DATABASE_URL.name(name)] = f"postgresql://u:db-{name}@h/{name}"
    return env


def test_each_child_gets_only_its_own_secrets():
    parent = environment()
    for name in platform.names():
        child = child_env(name, parent)
        others = [other for other in platform.names() if other != name]
        assert child[config.signing_key_variable(name)] == \
            parent[config.signing_key_variable(name)]
        assert not any(config.signing_key_variable(other) in child for other in others)
        own_uri = f"pyamqp://lisa-{name}:pw-{name}@h:5672/v"
        assert child[config.SERVICE_AMQP_URI.name(name)] == own_uri
        assert child["LISA_AMQP_URI"] == child[config.SERVICE_AMQP_URI.name(name)]
        assert not any(config.SERVICE_AMQP_URI.name(other) in child for other in others)
        assert not any(config.SERVICE_DATABASE_URL.name(other) in child for other in others)
        text = repr(child)
        assert "operator" not in text
        assert not any(f"pw-{other}" in text or f"db-{other}" in text for other in others)
        assert (config.ENCRYPTION_KEYS_VARIABLE in child) == platform.spec(name).seals_content
        assert child[config.PUBLIC_KEYS_VARIABLE] == parent[config.PUBLIC_KEYS_VARIABLE]
        assert child[config.AUDIENCE_VARIABLE] == parent[config.AUDIENCE_VARIABLE]
        assert child["PATH"] == "/usr/bin"
        assert set(platform.key_variables([name])) <= set(child)   # it can still start


def test_without_broker_users_a_child_keeps_the_shared_uri():
    parent = {key: value for key, value in environment().items()
              if not key.endswith("_AMQP_URI") or key == "LISA_AMQP_URI"}
    child = child_env("tags", parent)
    assert child["LISA_AMQP_URI"] == parent["LISA_AMQP_URI"]
    assert config.ENCRYPTION_KEYS_VARIABLE not in child
    assert config.ENCRYPTION_KEYS_VARIABLE in child_env("referrals", parent)


def test_a_service_without_its_own_broker_user_warns_once(monkeypatch, caplog):
    """Review of issue 7, finding 5: one loud line at start when broker users are not
    enforced in distributed mode; none when they are."""
    import logging

    from lisa.cli import check_broker_user

    monkeypatch.setenv("LISA_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/v")
    monkeypatch.delenv("LISA_TAGS_AMQP_URI", raising=False)
    with caplog.at_level(logging.WARNING, logger="lisa"):
        assert check_broker_user("tags") is False
    [line] = [record.getMessage() for record in caplog.records]
    assert line.startswith("SECURITY: tags connects to the broker as 'guest'")
    assert "NOT enforced" in line and "LISA_TAGS_AMQP_URI" in line
    caplog.clear()
    monkeypatch.setenv("LISA_TAGS_AMQP_URI", "pyamqp://lisa-tags:pw@127.0.0.1:5672/v")
    with caplog.at_level(logging.WARNING, logger="lisa"):
        assert check_broker_user("tags") is True
    assert caplog.records == []
