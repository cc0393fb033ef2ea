# GoldSocial backend. `make run` and `make test` are the two commands README promises.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test demo lint mutants install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

.env:
	cp .env.example .env
	@echo "created .env from .env.example (DEBUG on, local services)"

## make run: Redis (a private one when none is configured or answering), migrate, register the
## schedules, collect static files, then the web server and qcluster (goldsocial/launcher.py).
run: $(STAMP) .env
	$(BIN)/python -m goldsocial.launcher --procfile Procfile

## make demo: like run, offline: simulated prices, sample feeds served locally, sample data.
## (`env`, not a shell: make's own child must be the launcher, which watches make.)
DEMO_ENV := DEMO_MODE=true DEBUG=true DATABASE_URL=sqlite:///demo.sqlite3 MARKET_DATA_PROVIDERS=simulated \
	NEWS_FETCHER_INTERVAL_SECONDS=60 OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8
demo: $(STAMP)
	env $(DEMO_ENV) $(BIN)/python -m goldsocial.launcher --procfile Procfile.demo --demo-seed

## make test: lint, types, migrations in step with the models, the whole test suite.
TYPED := goldsocial jobs markets news predictions realtime demo
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || echo "note: no chromium; the browser tests skip locally (apt-get install chromium), fail in CI"
	$(BIN)/ruff check .
	SECRET_KEY=$${SECRET_KEY:-type-check} $(BIN)/mypy $(TYPED)
	SECRET_KEY=$${SECRET_KEY:-makemigrations-check} $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

## make test-calendar: the end-to-end and fault suites (real processes, whose clock TESTS_CLOCK
## shifts: tests/clock) on a Saturday and on Christmas Day, when metals and FX do not trade.
## CI runs it: a submission must pass on any day of the year.
CALENDAR_DAYS := 2026-12-05T12:00:00Z 2026-12-25T15:00:00Z
.PHONY: test-calendar
test-calendar: $(STAMP)
	@for day in $(CALENDAR_DAYS); do \
		echo "== tests/e2e tests/faults at $$day"; \
		TESTS_CLOCK=$$day $(BIN)/pytest tests/e2e tests/faults $(PYTEST_ARGS) || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check .

## make mutants: mutation testing (on demand, minutes; not in CI): the condition language, the trust
## rules (markets/trust.py quote_problem, price_combine) and the job lease (jobs/services.py _claim).
## Which files: [tool.mutmut] in pyproject.toml. Survivors judged harmless: docs/MUTANTS.md.
## One at a time: make mutants MUTANTS='markets.trust.x_price_combine*'
MUTANTS ?= predictions.conditions.* markets.trust.x_quote_problem__* markets.trust.x_price_combine__* \
	jobs.services.x__claim__*
mutants: $(STAMP)
	rm -rf mutants
	@# One child: the job-lease tests share one SQLite test database file.
	$(BIN)/mutmut run --max-children 1 $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) *.egg-info test_db*.sqlite3* staticfiles mutants var
