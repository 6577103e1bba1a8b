# sms_ir -- PGXS build.  `make`, `make install`, then see README.md for tests.
EXTENSION = sms_ir
MODULE_big = sms_ir
OBJS = src/sms_ir.o src/guc.o src/mobile.o src/parts.o src/args.o src/json.o src/http.o \
       src/provider.o src/secret.o src/reply.o src/provider_smsir.o src/provider_smsafzar.o src/soap.o \
       src/provider_mediapayamak.o \
       src/provider_legacy.o src/token.o \
       src/functions.o src/payload.o \
       src/outbox.o src/launcher.o src/worker.o
DATA = $(wildcard sql/sms_ir--*.sql)

# pg_regress suites (sql/NAME.sql + expected/NAME.out); they need the mock
# provider running, so run them through scripts/test.sh.
REGRESS = setup validation send status errors security inbox provider_smsafzar provider_mediapayamak provider_legacy input_bounds
REGRESS_OPTS = --temp-instance=tmp_check --temp-config=test/regress.conf --encoding=UTF8

PG_CPPFLAGS = -I$(srcdir)/src $(shell xml2-config --cflags)
SHLIB_LINK += -lcurl -ljson-c -lxml2
EXTRA_CLEAN = tmp_check results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: a changed struct in src/*.h must
# rebuild every object, or the objects disagree about its layout.
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# TAP tests (test/t/*.pl): the worker, crashes, restarts, pg_cron.
PROVE_TESTS ?= test/t/*.pl
PROVE_FLAGS += -I $(srcdir)/test/perl
tapcheck:
	$(prove_installcheck)
.PHONY: tapcheck
