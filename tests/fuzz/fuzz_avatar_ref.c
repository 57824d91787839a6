/* fuzz_avatar_ref.c — a stored avatar's ref (ROOT/.store/refs/NAME.json)
 * through tc_avatar_ref_load, the file being a memfd so json-c's own file
 * reading runs too. A ref names the paths set_avatar opens, so whatever a
 * damaged or hostile ref says, an accepted one must hold only 64-digit hex
 * shas and plain file names (no '/', no dot files), with a current version
 * among its versions; anything else is refused with a reason. */
#include "avatar/avatar.h"
#include "avatar/store_int.h"
#include "core/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static char path[64];
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        CHECK((fd = memfd_create("fuzz.ref.json", 0)) >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
    tc_avatar_entry e;
    char err[512] = "";
    int r = tc_avatar_ref_load(path, "fuzzed", &e, err, sizeof err);
    if (r < 0) {
        CHECK(err[0]); /* a refusal always says why */
        CHECK(e.versions == NULL && e.n_versions == 0);
        return 0;
    }
    CHECK(e.n_versions > 0 && e.current >= 0 && e.current < e.n_versions);
    for (int i = 0; i < e.n_versions; i++) {
        const tc_avatar_version *v = &e.versions[i];
        CHECK(tc_avatar_hex64(v->sha));
        CHECK(!strchr(v->file, '/'));
        CHECK(!strcmp(v->file, ".") || (v->file[0] && v->file[0] != '.'));
        CHECK(v->source);
    }
    tc_avatar_entry_clear(&e);
    return 0;
}
