# LISA platform. `make demo` and `make test` create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PY := $(BIN)/python

.PHONY: deploy-files demo run test test-unit test-integration test-chaos bench bench-login bench-patrols bench-indicators lint migrate prometheus-config clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pybabel compile --use-fuzzy -d shared/translations -D messages >/dev/null
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)  ## embedded: every service in one process, in-memory broker, SQLite under var/
	$(PY) -m lisa.cli demo

run: $(STAMP)  ## distributed: one process per service on RabbitMQ and PostgreSQL; needs your keys (README, Keys). REPLICAS=incidents=2,tags=2: more per service
	$(PY) -m lisa.cli run $(if $(REPLICAS),--replicas $(REPLICAS))

migrate: $(STAMP)
	$(PY) -m lisa.cli migrate

test: $(STAMP)  ## every test; integration tests need RabbitMQ and PostgreSQL (skipped outside CI if absent)
	$(PY) -m pytest -q

test-unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest -q -m integration

test-chaos: $(STAMP)  ## faults during 5,000 reports on a private broker and database (LISA_CHAOS_REPORTS); writes bench/chaos_results.md
	$(PY) -m pytest -q -s -m chaos tests/chaos

bench: $(STAMP)  ## throughput/latency through the pipeline vs raw kombu; writes bench/results.md
	$(PY) -m bench.pipeline

bench-indicators: $(STAMP)  ## indicators: rebuild of 1M events, query at 10k vs 1M, live rate; writes bench/indicators_results.md
	$(PY) -m bench.indicators

bench-login: $(STAMP)  ## GET /me latency while six clients fail to log in; writes bench/login_results.md
	$(PY) -m bench.login_stall

bench-patrols: $(STAMP)  ## 40 wardens, 30 posts, 4 weeks: CP-SAT vs greedy, re-plan; writes bench/patrols_results.md
	$(PY) -m bench.patrols

# The layer rules (pyproject.toml [tool.importlinter]): lisa -> services -> shared, services
# independent, domain and policy free of frameworks, use cases and views free of nameko.
# mypy: shared/ and the services' rules, reads and commands ([tool.mypy]).
lint: $(STAMP)  ## ruff, the import contracts, mypy
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

prometheus-config: $(STAMP)  ## regenerate deploy/prometheus/prometheus.yml from the registry
	$(PY) -m lisa.cli prometheus-config > deploy/prometheus/prometheus.yml

deploy-files: $(STAMP)  ## regenerate docker-compose.yml, .env.example, k8s/base/services/ from the registry
	$(PY) -m lisa.cli compose
	$(PY) -m lisa.cli k8s

clean:
	rm -rf $(VENV) var
