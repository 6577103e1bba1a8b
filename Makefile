# sms_ir -- PGXS build.  `make`, `make install`, then see README.md for tests.
EXTENSION = sms_ir
# The one version string: the control file's default_version and the README
# must agree (checked by every build), the User-Agent is built from it.
EXTVERSION = 0.3
# PGXN wants three-part semantic versions: META.json and the dist zip say 0.3.0.
DISTVERSION = $(EXTVERSION).0
MODULE_big = sms_ir
OBJS = src/sms_ir.o src/guc.o src/mobile.o src/parts.o src/args.o src/json.o src/http.o \
       src/provider.o src/provider_registry.o src/provider_rest.o src/secret.o src/reply.o src/provider_smsir.o src/provider_smsafzar.o src/soap.o \
       src/provider_mediapayamak.o \
       src/provider_smsir_legacy.o src/token.o src/account.o src/breaker.o src/template.o \
       src/calendar.o src/throttle.o src/suppression.o \
       src/functions.o src/payload.o \
       src/outbox.o src/launcher.o src/worker.o src/worker_pipeline.o src/worker_delivery.o \
       src/worker_config.o src/outbox_store.o src/inbound.o src/worker_inbox.o \
       src/quiet_hours.o src/inbound_sql.o src/metrics.o
DATA = $(wildcard sql/sms_ir--*.sql)

# pg_regress suites (test/sql/NAME.sql + test/expected/NAME.out).  They talk
# to the mock provider and need the settings of test/regress.conf:
#   make installcheck                  against the running cluster (README "Tests")
#   make installcheck REGRESS_INSTANCE=temp   in a throw-away instance (scripts/test.sh)
REGRESS = setup validation send status errors security inbox provider_smsafzar provider_mediapayamak provider_legacy input_bounds enqueue accounts guard_rails inbound hostile_inputs
REGRESS_OPTS = --inputdir=test --encoding=UTF8 \
	$(if $(filter temp,$(REGRESS_INSTANCE)),--temp-instance=tmp_check --temp-config=test/regress.conf)

PG_CPPFLAGS = -I$(srcdir)/src $(shell xml2-config --cflags) -DEXTVERSION='"$(EXTVERSION)"'
SHLIB_LINK += -lcurl -ljson-c -lxml2
EXTRA_CLEAN = tmp_check results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# A build whose version strings disagree is refused.
all: version-check
version-check:
	@grep -qx "default_version = '$(EXTVERSION)'" $(srcdir)/$(EXTENSION).control || \
	  { echo "$(EXTENSION).control: default_version is not '$(EXTVERSION)' (Makefile EXTVERSION)" >&2; exit 1; }
	@test -f $(srcdir)/sql/$(EXTENSION)--$(EXTVERSION).sql -o -n "$$(ls $(srcdir)/sql/$(EXTENSION)--*--$(EXTVERSION).sql 2>/dev/null)" || \
	  { echo "sql/: no install or upgrade script reaches version $(EXTVERSION)" >&2; exit 1; }
	@grep -q "sms_ir $(EXTVERSION)" $(srcdir)/README.md || \
	  { echo "README.md does not name version sms_ir $(EXTVERSION)" >&2; exit 1; }
	@test "$$(grep -c '"version" *: *"$(DISTVERSION)"' $(srcdir)/META.json)" = 2 || \
	  { echo "META.json: version and provides.sms_ir.version must both be $(DISTVERSION)" >&2; exit 1; }
	@head -n 1 $(srcdir)/debian/changelog | grep -q "($(EXTVERSION)-" || \
	  { echo "debian/changelog: the top entry is not version $(EXTVERSION)-N" >&2; exit 1; }
.PHONY: version-check

# PGXS tracks no header dependencies: a changed struct in src/*.h must
# rebuild every object, or the objects disagree about its layout.
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# TAP tests (test/t/*.pl): the worker, crashes, restarts, pg_cron.
PROVE_TESTS ?= test/t/*.pl
PROVE_FLAGS += -I $(srcdir)/test/perl
tapcheck:
	$(prove_installcheck)
.PHONY: tapcheck

# PGXN: sms_ir-$(DISTVERSION).zip of the committed tree (META.json at its top).
dist:
	git -C $(srcdir) archive --format=zip --prefix=$(EXTENSION)-$(DISTVERSION)/ \
	  -o $(CURDIR)/$(EXTENSION)-$(DISTVERSION).zip HEAD
.PHONY: dist

# Every suite with the extension built under ASan + UBSan (scripts/asan.sh,
# as root): a private copy of this PostgreSQL is made under /tmp.
asan-check:
	PG_CONFIG=$(PG_CONFIG) bash $(srcdir)/scripts/asan.sh
.PHONY: asan-check
