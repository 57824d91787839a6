/* fuzz_face_mp.c — what a face provider sends back, through the client's
 * multipart parser (tc_face_mp_*) in chunks cut where the first bytes say,
 * and through the WAV reader face-serve runs on request bodies. Every part
 * handed on must lie inside the input and within the size limit; the
 * parser's buffer never grows past its bound; the same input cut
 * differently gives the same parts (or the same refusal). */
#include "core/err.h"
#include "face/remote.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

#define MAX_PART 4096

typedef struct sum {
    uint64_t hash;
    int64_t parts;
} sum;

static int on_part(void *opaque, const tc_face_mp_part *p)
{
    sum *s = opaque;
    CHECK(p->len <= MAX_PART);
    CHECK(p->index >= -1);
    CHECK(strlen(p->content_type) < sizeof p->content_type);
    for (size_t i = 0; i < p->len; i++)
        s->hash = (s->hash ^ p->data[i]) * 1099511628211ull;
    s->hash = (s->hash ^ (uint64_t)p->index) * 1099511628211ull;
    s->parts++;
    return TC_OK;
}

/* feed in chunks of 1..step bytes; returns the parser's verdict */
static int run(const uint8_t *d, size_t n, size_t step, sum *s)
{
    tc_face_mp p;
    CHECK(tc_face_mp_init(&p, "fz", MAX_PART) == TC_OK);
    int r = TC_OK;
    for (size_t at = 0; at < n && r == TC_OK;) {
        size_t k = step ? 1 + (at * 7 + d[at]) % step : n - at;
        if (k > n - at) k = n - at;
        r = tc_face_mp_feed(&p, d + at, k, on_part, s);
        CHECK(p.cap <= MAX_PART + 8192 + 128);
        at += k;
    }
    if (r == TC_OK) r = tc_face_mp_done(&p);
    tc_face_mp_free(&p);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = data[0] % 64;
    data++;
    size--;
    sum a = {1469598103934665603ull, 0}, b = a;
    int ra = run(data, size, 0, &a), rb = run(data, size, step, &b);
    CHECK(ra == rb);
    if (ra >= 0) CHECK(a.hash == b.hash && a.parts == b.parts);

    /* the same bytes as a request body for face-serve */
    uint8_t *copy = size ? malloc(size) : NULL;
    if (size) {
        CHECK(copy);
        memcpy(copy, data, size);
    }
    float *pcm = NULL;
    int64_t n = -1;
    int rate = 0;
    if (tc_face_wav_decode(copy ? copy : (const uint8_t *)"", size, &pcm, &n, &rate) == TC_OK) {
        CHECK(pcm && n >= 0 && (uint64_t)n * 2 <= size && rate >= 8000 && rate <= 192000);
        for (int64_t i = 0; i < n; i++)
            CHECK(pcm[i] >= -1.0f && pcm[i] < 1.0f);
        free(pcm);
    }
    free(copy);
    return 0;
}
