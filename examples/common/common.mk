# Rules shared by the example Makefiles (included after each sets NAME, the
# --name given to dlgen, MODEL, and optionally APP_SRCS / APP_DEPS /
# APP_INCLUDES for extra C sources of its app).
#
# Provides the usual variables (DLGEN, PYTHON, CC, BUILD, CFLAGS), the
# dlgen compile rule, the app's build rule (main.c plus the shared
# examples/common/app_util.c, under -std=c99 -Wall -Wextra -Wpedantic
# -Werror) and `clean`.

COMMON_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

DLGEN ?= dlgen
PYTHON ?= python3
CC ?= cc
BUILD ?= build
CFLAGS ?= -O2
WARNFLAGS = -std=c99 -Wall -Wextra -Wpedantic -Werror

GEN_DIR = $(BUILD)/$(NAME)
APP = $(BUILD)/$(NAME)_app
PREDICTIONS = $(BUILD)/predictions.txt
APP_OUTPUT = $(BUILD)/app_output.txt
COMMON_SRCS = $(COMMON_DIR)/app_util.c
COMMON_DEPS = $(COMMON_SRCS) $(COMMON_DIR)/app_util.h

$(GEN_DIR)/$(NAME).h: $(MODEL)
	rm -rf $(GEN_DIR)
	$(DLGEN) compile $(MODEL) -t c -o $(GEN_DIR) --name $(NAME)

$(APP): main.c $(COMMON_DEPS) $(APP_DEPS) $(GEN_DIR)/$(NAME).h
	$(MAKE) -C $(GEN_DIR) CC="$(CC)"
	$(CC) $(WARNFLAGS) $(CFLAGS) -I$(GEN_DIR) -I$(COMMON_DIR) $(APP_INCLUDES) \
		main.c $(COMMON_SRCS) $(APP_SRCS) $(GEN_DIR)/lib$(NAME).a -lm -o $@

clean:
	rm -rf $(BUILD)
