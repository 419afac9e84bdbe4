# citydata — two commands on a fresh machine: `make demo` and `make test`.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The portal's charts and API docs: ECharts and Swagger UI from the npm registry (pinned by frontend/package-lock.json), copied
# into the package's static files; no CDN at run time.
VENDOR := src/citydata/portal/static/vendor/echarts.min.js
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test install system-deps lint lock bench clean

install: $(STAMP) $(VENDOR)

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==0.13.8
	# Byte-compiled at install: uv does not compile by default, and where PYTHONDONTWRITEBYTECODE is set (it
	# is on these machines) every process would compile dbt, Great Expectations and pandas again on import
	# (`import great_expectations`: 10-11 s from source, ~4 s compiled).
	$(BIN)/uv pip install -q --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

$(VENDOR): frontend/package-lock.json
	npm ci --prefix frontend --no-audit --no-fund --silent
	mkdir -p $(dir $(VENDOR))
	cp frontend/node_modules/echarts/dist/echarts.min.js $(VENDOR)
	cp frontend/node_modules/swagger-ui-dist/swagger-ui-bundle.js frontend/node_modules/swagger-ui-dist/swagger-ui.css $(dir $(VENDOR))

demo: install system-deps
	$(BIN)/citydata demo $(DEMO_ARGS)

# What the tests run for real, from Debian's packages: PostgreSQL and MariaDB server binaries
# (started by the tests on free ports, never the system's services), Chromium for the portal and
# wrk, the load generator of bench/portal.
SYSTEM_PACKAGES := postgresql mariadb-server chromium fonts-wqy-zenhei wrk
system-deps:
	@missing=""; \
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-wqy-zenhei"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (sudo apt-get install$$missing)"; fi; fi

test: install system-deps
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests dags bench

lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.cdc
	$(BIN)/python -m bench.build
	$(BIN)/python -m bench.gate
	$(BIN)/python -m bench.portal

clean:
	rm -rf var dbt_project/target dbt_project/logs frontend/node_modules $(VENDOR)
