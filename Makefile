# TechSupport Pro — developer commands. `make run` and `make test` work on a fresh machine
# with only Python >= 3.11: they create .venv (and .venv-docstore for the local document server)
# and install what they need. Local mode's settings: var/local.env (see localmode/).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run docstore test lint format env-example migrate worker beat flower install install-dev clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m localmode.install requirements.txt $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	$(PYTHON) -m localmode.install requirements-dev.txt $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# The whole product locally: document server, Celery worker + beat, web server (localmode/run.py).
run: $(VENV)/.runtime
	$(BIN)/python -m localmode run --port $(PORT)

# Only the local document server, for manage.py commands while `make run` is not running.
docstore: $(VENV)/.runtime
	$(BIN)/python -m localmode docstore

migrate: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput

# Also: the compose file and the CI workflow against their JSON schemas (vendored in docs/schemas/,
# no network), and .env.example against what the code reads (config/env_example.py).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/check-jsonschema --schemafile docs/schemas/compose-spec.json docker-compose.yml
	$(BIN)/check-jsonschema --schemafile docs/schemas/github-workflows.json .github/workflows/ci.yml
	$(BIN)/python -m config.env_example --check

# Regenerates .env.example from the variables the code reads.
env-example: $(VENV)/.runtime
	$(BIN)/python -m config.env_example

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Beside `make run` (whose worker already runs beat) or against real services (REDIS_URL ...).
worker: $(VENV)/.runtime
	$(BIN)/celery -A config worker --loglevel=INFO

beat: $(VENV)/.runtime
	$(BIN)/celery -A config beat --loglevel=INFO --scheduler django_celery_beat.schedulers:DatabaseScheduler

flower: $(VENV)/.runtime
	$(BIN)/celery -A config flower --port=5555

clean:
	rm -rf $(VENV) .venv-docstore var .pytest_cache .ruff_cache
