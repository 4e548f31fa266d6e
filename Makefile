# plantroom: `make demo` runs everything on embedded defaults; `make test` installs what the
# tests need (Python packages and Debian servers) and runs lint, types and tests.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DEBIAN_PACKAGES ?= mosquitto mosquitto-clients postgresql mbpoll chromium fonts-wqy-zenhei poppler-utils
DEMO_ARGS ?=

.PHONY: demo test lint typecheck pytest venv system-deps bench bench-ingest bench-modbus clean bench-alerts

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.lock
	$(PIP) install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(VENV)/bin/plantroom demo $(DEMO_ARGS)

# the time-series servers for the backend contract suite and the dashboard
# query tests, and docker-compose (v1) to validate docker-compose.yml without the plugin
DEBIAN_PACKAGES += victoria-metrics influxdb docker-compose

# regenerate dashboards/generated/*.json (SITE=path/to/site.yaml names your machines)
.PHONY: dashboards bench-influx
dashboards: venv
	$(PY) -m dashboards.build $(if $(SITE),--site $(SITE))

bench-influx: venv system-deps
	$(PY) -m bench.influx_write $(BENCH_ARGS)

.PHONY: bench-history bench-capacity
bench-history: venv
	$(PY) -m bench.history $(BENCH_ARGS)

bench-capacity: venv system-deps
	$(PY) -m bench.capacity $(BENCH_ARGS)

.PHONY: bench-api-limits
bench-api-limits: venv
	$(PY) -m bench.api_limits $(BENCH_ARGS)

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	fi

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv system-deps
	$(VENV)/bin/pytest -q -ra -W error::pytest.PytestUnraisableExceptionWarning $(PYTEST_ARGS)

test: system-deps venv lint typecheck pytest

bench: bench-ingest bench-modbus bench-alerts

bench-ingest: venv system-deps
	$(PY) -m bench.ingest $(BENCH_ARGS)

# Node-RED beside plantroom, both draining one backlog into VictoriaMetrics. Node-RED 4 (5 needs
# Node.js >= 22.9; Debian's is 20) and its InfluxDB node come from npm into a scratch directory.
PEER_DIR ?= data/bench-peer
.PHONY: bench-peer
bench-peer: venv system-deps
	$(MAKE) --no-print-directory system-deps DEBIAN_PACKAGES=nodejs
	command -v npm >/dev/null || $(MAKE) --no-print-directory system-deps DEBIAN_PACKAGES=npm
	test -f $(PEER_DIR)/node_modules/node-red/red.js || npm install --prefix $(PEER_DIR) \
	  --no-audit --no-fund --loglevel=error node-red@4.1.8 node-red-contrib-influxdb@0.7.0
	$(PY) -m bench.peer --node-red-dir $(PEER_DIR) $(BENCH_ARGS)

bench-modbus: venv
	$(PY) -m bench.modbus $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache

bench-alerts: venv system-deps
	$(PY) -m bench.alerts
