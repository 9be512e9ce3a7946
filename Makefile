# make demo: set up .venv and harvest the shipped samples. make test: the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
DEBIAN_PACKAGES := dovecot-imapd chromium openssl

.PHONY: install demo test system-deps postgres migration retrain clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,train]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/harvester --config config.yaml run
	$(BIN)/harvester --config config.yaml stories list

# Debian packages the tests start: dovecot for IMAP, Chromium for the review page.
system-deps:
	@missing=""; \
	for package in $(DEBIAN_PACKAGES); do \
		dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

# The tests use the PostgreSQL server at 127.0.0.1:5432; start the local cluster when it is down.
postgres:
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		echo "starting PostgreSQL"; \
		$(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
		for attempt in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

test: install system-deps postgres
	$(BIN)/pytest

# Regenerate the initial Alembic migration from store/models.py (before the first release only).
migration: install
	./tools/regenerate_migration.sh

# Fine-tune the person NER on the public WNUT-17 and Broad Twitter Corpus sets and
# install it into harvester/tagging/model (about 15 minutes on 2 cores).
NER_DATA ?= ../shared/data/ner
retrain: install
	$(BIN)/python -m harvester.tagging.train.prepare --output build/ner/corpus \
		--train $(NER_DATA)/wnut17_train.conll $(NER_DATA)/btc_train.conll \
		--dev $(NER_DATA)/wnut17_dev.conll $(NER_DATA)/btc_dev.conll \
		--case-augment --normalize --join-mentions --handles-missing --email-style 1500 --name-swap 0.5 --seed 7
	$(BIN)/python -m harvester.tagging.train.run --corpus build/ner/corpus --output build/ner/run --seed 0 --install

clean:
	rm -rf $(VENV) harvester.db harvester.db-wal harvester.db-shm .pytest_cache tests/artifacts
