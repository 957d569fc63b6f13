# make run   : set up and serve the app on SQLite with demo data
# make test  : set up and run the whole test suite (PostgreSQL too when TEST_DATABASE_URL is set)
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
RUN_PACKAGES := fonts-nanum libpango-1.0-0 libpangoft2-1.0-0
TEST_PACKAGES := fonts-nanum libpango-1.0-0 libpangoft2-1.0-0 chromium poppler-utils wrk

.PHONY: run test install translations extract-messages bench-vote bench-tally bench-export

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d voting/translations

extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project voting --version 0.1.0 --copyright-holder "voting contributors" --msgid-bugs-address "" \
		-o voting/translations/messages.pot .
	$(VENV)/bin/pybabel -q update --no-fuzzy-matching -i voting/translations/messages.pot -d voting/translations

run: install translations
	@scripts/ensure-debian-packages.sh $(RUN_PACKAGES)
	APP_ENV=development $(FLASK) db upgrade
	@APP_ENV=development $(FLASK) voting demo --if-empty
	@echo ""
	@echo "Open http://$(HOST):$(PORT)/ and log in with a demo account above (Ctrl-C stops the server)."
	@echo "Text messages (the codes that confirm a phone) are printed below, on this console."
	APP_ENV=development $(VENV)/bin/gunicorn --workers 2 --bind $(HOST):$(PORT) --access-logfile - wsgi:app

test: install translations
	@scripts/ensure-debian-packages.sh $(TEST_PACKAGES)
	$(PY) -m pytest $(PYTEST_ARGS)

bench-vote: install translations
	@scripts/ensure-debian-packages.sh wrk
	$(PY) bench/vote.py $(BENCH_ARGS)

bench-tally: install translations
	$(PY) bench/tally.py $(BENCH_ARGS)

bench-export: install translations
	@scripts/ensure-debian-packages.sh $(RUN_PACKAGES)
	$(PY) bench/export.py $(BENCH_ARGS)
