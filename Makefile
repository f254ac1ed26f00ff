# TechSupport Pro — developer commands. `make run` and `make test` work on a fresh machine
# with only Python >= 3.11: they create .venv and install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# Local runs default to DEBUG (embedded defaults, default admin); production sets DEBUG=0.
LOCAL  := DEBUG=$${DEBUG:-1}

.PHONY: run test lint format migrate worker beat flower install install-dev clean

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

migrate: $(VENV)/.runtime
	$(LOCAL) $(BIN)/python manage.py migrate --noinput

run: migrate
	$(LOCAL) $(BIN)/python manage.py ensure_admin
	$(LOCAL) $(BIN)/python manage.py setup_periodic_tasks
	$(LOCAL) $(BIN)/python manage.py seed_demo --if-empty
	$(LOCAL) PORT=$(PORT) $(BIN)/python manage.py serve

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: $(VENV)/.runtime
	$(BIN)/celery -A config worker --loglevel=INFO --queues=ingestion,sla,notifications,projections,default

beat: $(VENV)/.runtime
	$(BIN)/celery -A config beat --loglevel=INFO --scheduler django_celery_beat.schedulers:DatabaseScheduler

flower: $(VENV)/.runtime
	$(BIN)/celery -A config flower --port=5555

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
