# LISA platform. `make demo` and `make test` create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY := $(BIN)/python

.PHONY: demo run test test-unit test-integration bench bench-login lint migrate prometheus-config clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pybabel compile --use-fuzzy -d shared/translations -D messages >/dev/null
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)  ## embedded: every service in one process, in-memory broker, SQLite under var/
	$(PY) -m lisa.cli demo

run: $(STAMP)  ## distributed: one process per service on RabbitMQ and PostgreSQL; needs your keys (README, Keys)
	$(PY) -m lisa.cli run

migrate: $(STAMP)
	$(PY) -m lisa.cli migrate

test: $(STAMP)  ## every test; integration tests need RabbitMQ and PostgreSQL (skipped outside CI if absent)
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest -q -m integration

bench: $(STAMP)  ## throughput/latency through the pipeline vs raw kombu; writes bench/results.md
	$(PY) -m bench.pipeline

bench-login: $(STAMP)  ## GET /me latency while six clients fail to log in; writes bench/login_results.md
	$(PY) -m bench.login_stall

# The layer rules (pyproject.toml [tool.importlinter]): lisa -> services -> shared, services
# independent, domain and policy free of frameworks, use cases and views free of nameko.
# mypy: shared/ and the services' rules, reads and commands ([tool.mypy]).
lint: $(STAMP)  ## ruff, the import contracts, mypy
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

prometheus-config: $(STAMP)  ## regenerate deploy/prometheus/prometheus.yml from the registry
	$(PY) -m lisa.cli prometheus-config > deploy/prometheus/prometheus.yml

clean:
	rm -rf $(VENV) var
