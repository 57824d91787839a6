/* fuzz_env.c — the .env parser (tc_config_parse_dotenv, the code
 * tc_config_load_dotenv runs on a file's contents) on arbitrary text. A
 * .env is written by hand, so a typo must end in an error that names the
 * line, never in a crash; what it accepts must satisfy the option table's
 * ranges, and the config must survive validate, dump and free. */
#include "core/config.h"
#include "core/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!devnull) CHECK((devnull = fopen("/dev/null", "w")));
    tc_config c;
    char err[512] = "";
    CHECK(tc_config_init(&c) == TC_OK);
    int r = tc_config_parse_dotenv(&c, (const char *)data, size, "fuzz.env", err, sizeof err);
    if (r < 0) {
        CHECK(r == TC_ERR_INVAL || r == TC_ERR_FORMAT || r == TC_ERR_NOMEM);
        /* every refusal says where: "fuzz.env: line N: …" */
        CHECK(r == TC_ERR_NOMEM || !strncmp(err, "fuzz.env: line ", 15));
    } else {
        CHECK(r == TC_OK);
        CHECK(c.width >= 16 && c.width <= 7680 && c.width % 2 == 0);
        CHECK(c.height >= 16 && c.height <= 4320 && c.height % 2 == 0);
        CHECK(c.fps_num > 0 && c.fps_den > 0);
        CHECK(c.sample_rate == 44100 || c.sample_rate == 48000);
        CHECK(c.channels == 1 || c.channels == 2);
        CHECK(c.outputs ? !c.outputs[c.n_outputs] : c.n_outputs == 0);
        for (size_t i = 0; i < c.n_outputs; i++)
            CHECK(c.outputs[i][0]);
        char verr[512];
        (void)tc_config_validate(&c, verr, sizeof verr);
        tc_config_dump(&c, devnull);
    }
    tc_config_free(&c);
    return 0;
}
