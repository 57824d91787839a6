/* outfmt.h — what an output URL means: which muxer, and whether it is a
 * network peer (reconnect on failure) or a file (fail once, keep the rest).
 *
 * Spec syntax: "[f=FORMAT]URL" overrides the guess, like FFmpeg's tee muxer.
 * Guesses: rtmp/rtmps → flv; srt/udp/rtp → mpegts; files by extension
 * (.mp4 .mov .mkv .ts .flv …) via libavformat's own table. */
#ifndef TC_OUTFMT_H
#define TC_OUTFMT_H

typedef struct tc_outfmt {
    char *url;          /* owned; what avio opens */
    char *format;       /* owned; libavformat muxer short name */
    int is_network;     /* 1: reconnect with back-off; 0: a file */
    char *display;      /* owned; the URL with secrets masked, for logs */
} tc_outfmt;

/* Parse `spec`. On error, err gets a one-line reason and *out is untouched. */
int tc_outfmt_parse(const char *spec, tc_outfmt *out, char *err, int errlen);
void tc_outfmt_free(tc_outfmt *f); /* frees the strings; accepts zeroed */

/* Mask what is secret in a URL: a userinfo password, and for rtmp(s) the
 * stream key (path after the application). Returns a new string or NULL. */
char *tc_outfmt_mask_url(const char *url);

#endif
