# talkcast — the commands a user needs. Each installs what it needs first.
#   make demo    stream the avatar to a private RTMP server and record it
#   make test    build (normal + sanitizers) and run every test
#   make bench   measure against the ffmpeg baseline
#   make soak    one stream for DURATION (default 1h): does anything grow?
#   make test-long  the slow fault-injection tests, and every integration and
#                fault test again against the ASan+UBSan build
#   make fuzz    each libFuzzer harness (tests/fuzz) for FUZZ_SECONDS (600)
BUILD  ?= build
ASAN   ?= build-asan
WERROR ?= false
DURATION ?= 1h
FUZZ_SECONDS ?= 600

.PHONY: all deps build build-asan test test-long unit demo bench soak fuzz format clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=$(WERROR)

$(ASAN)/build.ninja:
	meson setup $(ASAN) -Dwerror=$(WERROR) -Db_sanitize=address,undefined -Db_lundef=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN)/build.ninja
	ninja -C $(ASAN)

test: build build-asan
	scripts/test.sh $(BUILD) $(ASAN)

# (every set runs even if one before it failed; the exit status says if any did)
test-long: build build-asan
	@rc=0; \
	TALKCAST_BIN=$(BUILD)/talkcast TC_IT_DIR=tests/faults TC_IT_SET=long bash tests/run-integration.sh || rc=1; \
	TALKCAST_BIN=$(ASAN)/talkcast TC_IT_DIR=tests/integration bash tests/run-integration.sh || rc=1; \
	TALKCAST_BIN=$(ASAN)/talkcast TC_IT_DIR=tests/faults TC_IT_SET=all bash tests/run-integration.sh || rc=1; \
	exit $$rc

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

demo: build
	scripts/demo.sh $(BUILD)/talkcast

bench: build
	bench/run.sh $(BUILD)/talkcast

fuzz: deps
	tests/fuzz/run.sh $(FUZZ_SECONDS)

soak: build
	TALKCAST_BIN=$(BUILD)/talkcast tests/soak/soak.sh $(DURATION)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz
