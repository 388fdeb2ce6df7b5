# contactload — the two set-up commands are `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PORT    ?= 8000
WORKERS ?= 1
PG_URL  ?= postgres://postgres@127.0.0.1:5432/test

export DJANGO_SETTINGS_MODULE := contactload.settings

.PHONY: run test test-sqlite test-postgres lint setup bench clean

$(BIN)/contactload: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(BIN)/contactload

run: setup
	$(BIN)/contactload migrate --noinput
	$(BIN)/contactload load-config $${CONTACTLOAD_CONFIG:-contactload/demo/demo.yaml}
	-$(BIN)/contactload demo-banner --port $(PORT)
	CONTACTLOAD_LOG_FORMAT=$${CONTACTLOAD_LOG_FORMAT:-text} $(BIN)/contactload serve --port $(PORT) --workers $(WORKERS)

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/contactload check
	$(BIN)/contactload makemigrations --check --dry-run

test: lint test-sqlite test-postgres

test-sqlite: setup browser
	$(BIN)/python -m pytest -p no:cacheprovider

# The upload page's browser test drives Debian's chromium, never a Playwright download.
# Installed when missing; under CI=true a failed install fails the run, elsewhere the
# test then skips with a loud reason.
.PHONY: browser
browser:
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y chromium chromium-driver) || { \
		if [ "$$CI" = "true" ]; then echo "chromium could not be installed and CI=true: failing"; exit 1; fi; \
		echo "chromium could not be installed: the browser test will be SKIPPED"; }

# PostgreSQL: under CI=true it must run; elsewhere it is skipped when no server answers.
test-postgres: setup
	@if $(BIN)/python -m contactload.pgcheck "$(PG_URL)"; then \
		DATABASE_URL="$(PG_URL)" $(BIN)/python -m pytest -p no:cacheprovider; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(PG_URL) is not reachable and CI=true: failing"; exit 1; \
	else \
		echo "PostgreSQL at $(PG_URL) is not reachable: PostgreSQL run skipped"; \
	fi

# The ingest benchmark (bench/RESULTS.md): a local PostgreSQL server, several minutes
# at the default 1,000,000 rows; BENCH_ROWS=100000 make bench for a quick run.
bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var
