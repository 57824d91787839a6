/* caption.h — captions from the words talkcast speaks.
 *
 * Three parts, one prefix (tc_cap_):
 *  - word timing (words.c): the words of one TTS chunk with start and end
 *    on the chunk's timeline — from the provider's word events (espeak-ng)
 *    or, when a provider gives none (HTTP TTS), estimated by spreading the
 *    sentence's words over the voiced stretch of its audio by length;
 *  - a CEA-608 roll-up encoder (cea608.c): fed words at the moment they are
 *    spoken, it paces CC1 byte pairs out frame by frame as A/53 cc_data
 *    triplets for the H.264 stream (the engine's caption track);
 *  - sidecar cues (cues.c): WebVTT and SRT files of ≤ 2 lines per cue.
 *
 * Timing invariant: a word is handed to the 608 encoder no earlier than the
 * first frame on which it is spoken, so captions never run ahead of the
 * speech; the encoder erases the display `hold` frames after speech stops,
 * and at once on tc_cap608_clear(now = 1) (interrupt, clear). */
#ifndef TC_CAPTION_H
#define TC_CAPTION_H

#include <stdint.h>
#include <stdio.h>

#include <libavutil/frame.h>

#include "tts/tts.h"

/* One word: [start, end) in samples relative to its chunk/segment, and its
 * bytes [pos, pos + len) in the chunk's text (UTF-8). */
typedef struct tc_cap_word {
    int64_t start, end;
    int pos, len;
} tc_cap_word;

/* Words of a chunk with their timing (see the file comment). *out is
 * malloc'ed, owned by the caller (NULL with *n = 0 when the text has no
 * words). */
int tc_cap_words(const tc_tts_chunk *c, tc_cap_word **out, int *n);

/* ---- CEA-608 roll-up (cea608.c) ------------------------------------------ */

#define TC_CAP608_COLS      32
#define TC_CAP608_MAX_PAIRS 4 /* most byte pairs one frame can carry (low fps) */

typedef struct tc_cap608 tc_cap608;

typedef struct tc_cap608_stats {
    int64_t words;   /* words put on air */
    int64_t pairs;   /* byte pairs sent (control codes count twice) */
    int64_t clears;  /* erase-display commands sent */
    int64_t dropped; /* words dropped: the byte queue was full */
} tc_cap608_stats;

/* rows: 2 or 3 (RU2/RU3); hold_frames: erase the display this many frames
 * after speech stops. The pacing follows line 21: 30 pairs a second, so
 * one pair per frame at 29.97/30 fps, 1-2 at 25 fps, one every other frame
 * at 60 fps. */
int tc_cap608_create(tc_cap608 **out, int rows, int fps_num, int fps_den, int hold_frames);
void tc_cap608_destroy(tc_cap608 *c); /* accepts NULL */

/* Queue a word (UTF-8, `len` bytes) for display now. Characters 608 has
 * are sent as they are (basic, special and extended sets), others are
 * transliterated (é→e when only a base letter exists, €→EUR, œ→oe) or
 * dropped. A word that would pass column 32 starts a new row (carriage
 * return: the rows roll up); one longer than a row is cut. Never
 * allocates. */
void tc_cap608_word(tc_cap608 *c, const char *utf8, int len);
/* Erase the display: now = 1 drops whatever is still queued and erases at
 * the next frame (interrupt/clear); now = 0 erases after what is queued. */
void tc_cap608_clear(tc_cap608 *c, int now);
/* Frame n: `speaking` says whether speech is on air at n (for the hold).
 * Writes up to TC_CAP608_MAX_PAIRS cc_data triplets (0xFC, b1, b2: field 1,
 * valid, odd parity) into cc and returns how many (0: nothing to send).
 * While captions are on screen and nothing is queued it sends a null pair
 * (0x80 0x80) each frame. */
int tc_cap608_tick(tc_cap608 *c, int64_t n, int speaking, uint8_t *cc);
/* Something is on screen or still queued: the stream must stay on live
 * encoding (no pre-encoded idle packets) until this is 0. */
int tc_cap608_busy(const tc_cap608 *c);
void tc_cap608_get_stats(const tc_cap608 *c, tc_cap608_stats *st);

/* The 608 cells for one Unicode code point: each cell is a basic byte
 * (0x20-0x7F, 608 meaning) or, with hi != 0, a special/extended pair
 * (hi 0x11/0x12/0x13, lo) drawn after the basic fallback `b` (extended
 * characters backspace over it; 0 for special ones). Returns the number of
 * cells (0: dropped), at most 3. Exposed for tests. */
typedef struct tc_cap608_cell {
    uint8_t b, hi, lo;
} tc_cap608_cell;
int tc_cap608_map(uint32_t cp, tc_cap608_cell out[3]);

/* ---- burned-in captions (burn.c) ----------------------------------------- */

/* A band at the bottom of the picture with the last 2-3 rows of words,
 * white on a darkened strip, in the text's own characters. Engine thread
 * only. */
typedef struct tc_cap_burn tc_cap_burn;

/* fmt: yuv420p, yuvj420p, yuv422p, yuv444p or nv12 (else TC_ERR_INVAL). */
int tc_cap_burn_create(tc_cap_burn **out, int width, int height, enum AVPixelFormat fmt, int rows,
                       int hold_frames);
void tc_cap_burn_destroy(tc_cap_burn *b); /* accepts NULL */
void tc_cap_burn_word(tc_cap_burn *b, const char *utf8, int len);
void tc_cap_burn_clear(tc_cap_burn *b);
/* Per frame: returns 1 while text is to be drawn (hold as for 608). */
int tc_cap_burn_tick(tc_cap_burn *b, int speaking);
/* Draw the band into `f` (writable, the size and format given at create).
 * Redraws the text with cairo only when it changed. Returns 1 when drawn,
 * 0 when there is nothing to show. */
int tc_cap_burn_draw(tc_cap_burn *b, AVFrame *f);
int tc_cap_burn_busy(const tc_cap_burn *b);
int64_t tc_cap_burn_redraws(const tc_cap_burn *b);
/* Release the font caches cairo keeps for the whole process (burned-in
 * text loads fonts through fontconfig), so leak checkers see only real
 * leaks. Only when no cairo object is left: at the end of a command. */
void tc_cap_release_fonts(void);

/* ---- sidecar cues (cues.c) ------------------------------------------------ */

typedef enum tc_cap_format { TC_CAP_VTT, TC_CAP_SRT } tc_cap_format;

typedef struct tc_cap_cues tc_cap_cues;

/* Cues of up to `lines` lines of up to `line_chars` characters. */
int tc_cap_cues_create(tc_cap_cues **out, int line_chars, int lines);
void tc_cap_cues_destroy(tc_cap_cues *c); /* accepts NULL */
/* Add a word (times in seconds, in order). A word starts a new cue when
 * the current one is full, when `brk` (a new sentence), or after a pause
 * of more than a second. */
int tc_cap_cues_add(tc_cap_cues *c, double start, double end, const char *word, int len, int brk);
/* End every cue at its last word's end plus `hold` seconds, but never past
 * the next cue's start. Call before writing. */
void tc_cap_cues_finish(tc_cap_cues *c, double hold);
int tc_cap_cues_count(const tc_cap_cues *c);
/* An interrupt at t: cues starting at or after t go, the others end by t. */
void tc_cap_cues_cut(tc_cap_cues *c, double t);
/* Keep only the last n cues (a rolling file). */
void tc_cap_cues_keep_last(tc_cap_cues *c, int n);
/* The text of cue i (lines joined by '\n'), NULL when out of range. */
const char *tc_cap_cues_text(const tc_cap_cues *c, int i, double *start, double *end);
int tc_cap_cues_write(const tc_cap_cues *c, FILE *f, tc_cap_format fmt);
/* The same into a new buffer (*data, *n bytes; free it), e.g. to write the
 * file outside a lock. */
int tc_cap_cues_render(const tc_cap_cues *c, tc_cap_format fmt, char **data, size_t *n);
/* Write to `path` through a temporary file and rename, so a reader never
 * sees half a file. */
int tc_cap_cues_save(const tc_cap_cues *c, const char *path, tc_cap_format fmt);
/* .vtt → VTT, .srt → SRT; TC_ERR_INVAL otherwise. */
int tc_cap_format_from_path(const char *path, tc_cap_format *fmt);

/* Characters (code points) in len bytes of UTF-8. */
int tc_cap_utf8_chars(const char *s, int len);

#endif
