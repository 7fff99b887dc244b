# Makefile fragment: install the pve-ha binary and its ha-manager role
# (07 §8.2, §8.4).
# Include it from the packaging Makefile, set PVE_HA_BIN to the built
# binary and call `make install-ha-manager DESTDIR=...`.

PVE_HA_BIN ?= target/release/pve-ha
BINDIR ?= /usr/bin
SBINDIR ?= /usr/sbin
DATADIR ?= /usr/share
MANDIR ?= $(DATADIR)/man

.PHONY: install-ha-manager
install-ha-manager: $(PVE_HA_BIN)
	DESTDIR="$(DESTDIR)" SBINDIR="$(SBINDIR)" DATADIR="$(DATADIR)" MANDIR="$(MANDIR)" \
	    BINDIR="$(BINDIR)" sh $(dir $(lastword $(MAKEFILE_LIST)))install-ha-manager.sh "$(PVE_HA_BIN)"
