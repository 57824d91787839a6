/* http_int.h — the HTTP providers' response decoder, outside the tts
 * interface: its unit tests and the fuzz harness
 * (tests/fuzz/fuzz_tts_response.c) call it so they run exactly the code a
 * provider runs on what a server sent back. */
#ifndef TC_TTS_HTTP_INT_H
#define TC_TTS_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

/* Turn a 2xx response body (len bytes; data may be NULL when len is 0)
 * into mono float at `rate`: raw s16le 24 kHz when `format` is "pcm" and
 * neither the body (RIFF) nor `content_type` says otherwise, else whatever
 * libavformat recognises (WAV, MP3, Ogg/Opus, …). On success *pcm is
 * malloc'ed (the caller frees it) with *n > 0 samples; TC_ERR_FORMAT when
 * the body is not audio, is a WAV whose chunks claim more bytes than it
 * holds, is sampled below 4 kHz or above 768 kHz, or would decode to more
 * than 30 minutes. */
int tc_tts_http_decode(const unsigned char *data, size_t len, const char *content_type,
                       const char *format, int rate, float **pcm, int64_t *n);

#endif
