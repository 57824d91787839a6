/* say.c — `talkcast say TEXT -o OUT`: speech rendered offline through the
 * same modules the live stream uses. OUT.wav gets the audio alone; any
 * video container (.mp4, .mkv, …) gets the avatar saying it, lip-synced,
 * through the stream engine in offline mode (one code path, two clocks).
 * --phonemes F.tsv writes the phoneme timeline on OUT's own timeline;
 * --subtitles F.vtt|F.srt the words as subtitles on it. A video also
 * carries them as CEA-608 captions (--captions). */
#include "caption/caption.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "lipsync/lipsync.h"
#include "stream/outfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavformat/avformat.h>

static const tc_log_ctx log_ctx = { "say", NULL };

#define LEAD_S 0.5 /* idle before speech in a video */
#define TAIL_S 0.5 /* and after it */

typedef struct spoken {
    tc_segment *segs;        /* one per sentence (video) */
    int n_segs, cap_segs;
    float *pcm;              /* everything, back to back (wav) */
    int64_t n, cap;
    FILE *tsv;
    tc_cap_cues *cues;       /* --subtitles, or NULL */
    int captions;            /* 608 captions in the video */
    int video;               /* pad sentences to whole frames, build mouth tracks */
    tc_clock clk;
    tc_lips_config lips;
    int64_t offset;          /* timeline position of the next chunk, samples */
    int64_t first_ns, t0;
} spoken;

static int append_pcm(spoken *s, const float *p, int64_t n)
{
    if (s->n + n > s->cap) {
        int64_t nc = (s->n + n) * 2;
        float *q = realloc(s->pcm, (size_t)nc * sizeof *q);
        if (!q) return TC_ERR_NOMEM;
        s->pcm = q;
        s->cap = nc;
    }
    if (p) memcpy(s->pcm + s->n, p, (size_t)n * sizeof(float));
    else memset(s->pcm + s->n, 0, (size_t)n * sizeof(float));
    s->n += n;
    return TC_OK;
}

static int sink(void *opaque, tc_tts_chunk *c)
{
    spoken *s = opaque;
    if (!s->first_ns) s->first_ns = tc_now_ns() - s->t0;
    if (s->tsv)
        for (int i = 0; i < c->n_phonemes; i++)
            fprintf(s->tsv, "%.4f\t%.4f\t%s\t%d\n", (double)(s->offset + c->phonemes[i].start) / c->sample_rate,
                    (double)(s->offset + c->phonemes[i].end) / c->sample_rate, c->phonemes[i].name, c->sentence);
    tc_cap_word *words = NULL;
    int n_words = 0;
    if ((s->cues || (s->video && s->captions)) && c->text) {
        int r = tc_cap_words(c, &words, &n_words);
        if (r < 0) return r;
        for (int i = 0; s->cues && i < n_words; i++) {
            r = tc_cap_cues_add(s->cues, (double)(s->offset + words[i].start) / c->sample_rate,
                                (double)(s->offset + words[i].end) / c->sample_rate, c->text + words[i].pos,
                                words[i].len, i == 0);
            if (r < 0) {
                free(words);
                return r;
            }
        }
    }
    int64_t len = c->n_samples;
    if (s->video) {
        /* Segments start on frame boundaries: pad to whole frames so the
         * TSV and the picture share one timeline. */
        int spf = tc_clock_frame_samples(&s->clk, 0);
        len = (c->n_samples + spf - 1) / spf * spf;
        tc_segment seg = { 0 };
        seg.n_samples = len;
        if (!(seg.pcm = calloc((size_t)len, sizeof(float)))) return TC_ERR_NOMEM;
        memcpy(seg.pcm, c->pcm, (size_t)c->n_samples * sizeof(float));
        int r = c->has_timing ? tc_lips_track(&s->lips, c->phonemes, c->n_phonemes, c->pcm, c->n_samples, &seg.mouth, &seg.n_mouth)
                              : tc_lips_estimate(&s->lips, c->pcm, c->n_samples, &seg.mouth, &seg.n_mouth);
        if (r < 0 || (s->n_segs == s->cap_segs && !(s->segs = realloc(s->segs, (size_t)(s->cap_segs = s->cap_segs * 2 + 4) * sizeof *s->segs)))) {
            free(seg.pcm);
            free(seg.mouth);
            free(words);
            return r < 0 ? r : TC_ERR_NOMEM;
        }
        if (s->captions && n_words > 0) { /* the segment starts with the chunk: same offsets */
            seg.cap_text = c->text;
            c->text = NULL;
            seg.cap_words = words;
            seg.n_cap_words = n_words;
            words = NULL;
        }
        s->segs[s->n_segs++] = seg;
    }
    free(words);
    int r = append_pcm(s, c->pcm, c->n_samples);
    if (r == TC_OK && len > c->n_samples) r = append_pcm(s, NULL, len - c->n_samples);
    s->offset += len;
    return r;
}

/* 16-bit PCM mono WAV. */
static int write_wav(const char *path, const float *pcm, int64_t n, int rate)
{
    FILE *f = fopen(path, "wb");
    if (!f) return TC_ERR_IO;
    uint32_t data = (uint32_t)(n * 2), riff = 36 + data, fmt_len = 16, sr = (uint32_t)rate, br = sr * 2;
    uint16_t pcm_fmt = 1, ch = 1, align = 2, bits = 16;
    fwrite("RIFF", 1, 4, f);
    fwrite(&riff, 4, 1, f);
    fwrite("WAVEfmt ", 1, 8, f);
    fwrite(&fmt_len, 4, 1, f);
    fwrite(&pcm_fmt, 2, 1, f);
    fwrite(&ch, 2, 1, f);
    fwrite(&sr, 4, 1, f);
    fwrite(&br, 4, 1, f);
    fwrite(&align, 2, 1, f);
    fwrite(&bits, 2, 1, f);
    fwrite("data", 1, 4, f);
    fwrite(&data, 4, 1, f);
    for (int64_t i = 0; i < n; i++) {
        float v = pcm[i] * 32767.0f;
        int16_t s = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        fwrite(&s, 2, 1, f);
    }
    return fclose(f) == 0 ? TC_OK : TC_ERR_IO;
}

/* Render the segments through the engine, offline, into cfg's output. */
static int render_video(const tc_config *cfg, spoken *s)
{
    tc_face_config fc = tc_cli_face_config(cfg);
    tc_face *face = NULL;
    int r = tc_face_create_auto(&face, &fc);
    if (r < 0) {
        fprintf(stderr, "talkcast say: cannot use avatar '%s': %s\n", cfg->avatar, tc_strerror(r));
        return r;
    }
    int spf = tc_clock_frame_samples(&s->clk, 0);
    int64_t lead = (int64_t)(LEAD_S * cfg->fps_num / cfg->fps_den + 0.5);
    int64_t frames = lead + s->offset / spf + (int64_t)(TAIL_S * cfg->fps_num / cfg->fps_den + 0.5);
    tc_engine_config ec = tc_cli_engine_config(cfg, 0, frames);
    tc_engine *e = NULL;
    char err[512] = "";
    r = tc_engine_create(&e, &ec, face, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "talkcast say: %s\n", err[0] ? err : tc_strerror(r));
        tc_face_destroy(face);
        return r;
    }
    /* with a provider, each sentence is asked for at once: its frames
     * stream in while the engine renders what comes before */
    tc_face_remote *remote = NULL;
    if (r == TC_OK && cfg->face_provider[0]) {
        tc_face_remote_config rc = tc_cli_face_remote_config(cfg, 0);
        r = tc_face_remote_create(&remote, &rc);
        if (r == TC_OK) r = tc_face_remote_set_avatar(remote, fc.path, fc.landmarks, face);
        if (r < 0) fprintf(stderr, "talkcast say: face provider %s: %s\n", cfg->face_provider, tc_strerror(r));
    }
    /* the idle lead-in is a silent segment with a closed mouth */
    tc_segment quiet = { 0 };
    quiet.n_samples = lead * spf;
    if (!(quiet.pcm = calloc((size_t)quiet.n_samples + 1, sizeof(float)))) r = TC_ERR_NOMEM;
    if (r == TC_OK) r = tc_engine_enqueue(e, &quiet);
    else free(quiet.pcm);
    int64_t at = lead;
    for (int i = 0; r == TC_OK && i < s->n_segs; i++) {
        if (remote) r = tc_face_remote_attach(remote, &s->segs[i], at);
        at += s->segs[i].n_samples / spf;
        if (r == TC_OK) r = tc_engine_enqueue(e, &s->segs[i]);
        if (r < 0 && s->segs[i].frames.release) {
            s->segs[i].frames.release(s->segs[i].frames.opaque);
            s->segs[i].frames = (tc_frame_source){ 0 };
        }
        if (r == TC_OK) /* the engine owns them */
            s->segs[i].pcm = NULL, s->segs[i].mouth = NULL, s->segs[i].cap_text = NULL, s->segs[i].cap_words = NULL;
    }
    if (r == TC_OK) r = tc_engine_start(e);
    if (r == TC_OK) tc_engine_wait(e, -1);
    tc_engine_close(e, r != TC_OK);
    tc_output_stats os;
    tc_engine_output_stats(e, 0, &os);
    if (r == TC_OK && os.state == TC_OUTPUT_FAILED) r = TC_ERR_IO;
    tc_engine_destroy(e, 0);
    if (remote) {
        tc_face_remote_stats fs;
        tc_face_remote_get_stats(remote, &fs);
        tc_log(&log_ctx, TC_LOG_INFO,
               "face provider: frames_remote=%lld frames_local=%lld requests=%lld failures=%lld fallbacks=%lld "
               "retries=%lld bad=%lld resized=%lld uploads=%lld up=%d%s%s",
               (long long)fs.frames_remote, (long long)fs.frames_late, (long long)fs.requests, (long long)fs.failures,
               (long long)fs.fallbacks, (long long)fs.retries, (long long)fs.frames_bad, (long long)fs.frames_resized,
               (long long)fs.uploads, fs.up, fs.last_error[0] ? " last_error=" : "", fs.last_error);
    }
    tc_face_remote_destroy(remote);
    tc_face_destroy(face);
    return r;
}

int tc_cli_say(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("Usage: talkcast say TEXT -o OUT [--phonemes OUT.tsv] [--subtitles OUT.vtt|OUT.srt] [OPTIONS]\n\n"
                   "Speaks TEXT offline with the configured provider. OUT.wav: 16-bit mono WAV at\n"
                   "--sample-rate. OUT.mp4/.mkv/.ts/…: the avatar (--avatar) saying it, lip-synced,\n"
                   "rendered as fast as the machine can by the stream engine. --phonemes writes the\n"
                   "timeline as TSV: start_s, end_s, phoneme, sentence. --subtitles writes the words\n"
                   "as WebVTT or SRT (by the extension) on OUT's timeline; a video also carries them\n"
                   "as CEA-608 closed captions unless --no-captions. Options: see\n"
                   "'talkcast run --help' (--tts, --voice, --avatar, --width, --fps, ...).\n");
            return 0;
        }
    }
    /* --phonemes is say's own option: take it out before the table parses. */
    char *phon = NULL, *subs = NULL;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) return 1;
    int n_args = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--phonemes") && i + 1 < argc) phon = argv[++i];
        else if (!strcmp(argv[i], "--subtitles") && i + 1 < argc) subs = argv[++i];
        else args[n_args++] = argv[i];
    }
    tc_config cfg;
    /* (Dropping the zero-latency tune would be faster, but x264's
     * frame-thread delay makes the MP4 muxer start the audio 85 ms late.) */
    if (tc_config_init(&cfg) < 0) {
        free(args);
        return 1;
    }
    char *words[4];
    int n_words = 0, rc = tc_cli_load_config_mixed(&cfg, n_args, args, words, 4, &n_words);
    spoken s = { 0 };
    tc_tts *tts = NULL;
    if (rc) goto out;
    tc_cli_memory_policy(&cfg);
    if (n_words != 1 || cfg.n_outputs != 1) {
        fprintf(stderr, "talkcast say: give one TEXT (quoted) and one -o OUT (.wav or a video file)\n");
        rc = 2;
        goto out;
    }
    const char *path = cfg.outputs[0];
    size_t pl = strlen(path);
    s.video = !(pl >= 4 && !strcasecmp(path + pl - 4, ".wav"));
    if (s.video) {
        char ferr[256] = "";
        tc_outfmt f = { 0 };
        int pr = tc_outfmt_parse(path, &f, ferr, sizeof ferr), net = f.is_network;
        const AVOutputFormat *of = pr == TC_OK ? av_guess_format(f.format, NULL, NULL) : NULL;
        tc_outfmt_free(&f);
        int h264 = of ? avformat_query_codec(of, AV_CODEC_ID_H264, 0) : 0; /* 1 yes, PATCHWELCOME unknown */
        if (pr < 0 || net || !of || of->video_codec == AV_CODEC_ID_NONE || (h264 != 1 && h264 != AVERROR_PATCHWELCOME)) {
            fprintf(stderr, "talkcast say: %s\n",
                    pr < 0 ? ferr : net ? "say writes files; use 'run' to stream"
                                        : "that format holds no video; use .wav for audio alone, or .mp4/.mkv");
            rc = 2;
            goto out;
        }
    }
    s.clk = (tc_clock){ cfg.fps_num, cfg.fps_den, cfg.sample_rate };
    s.lips = (tc_lips_config){ cfg.fps_num, cfg.fps_den, cfg.sample_rate, 0, 0 };
    tc_tts_config tc = tc_cli_tts_config(&cfg);
    int r = tc_tts_create(&tts, cfg.tts, cfg.tts_fallback, &tc);
    if (r < 0) {
        fprintf(stderr, "talkcast say: cannot start TTS provider '%s': %s\n", cfg.tts, tc_strerror(r));
        rc = r == TC_ERR_NOTFOUND || r == TC_ERR_INVAL ? 2 : 1;
        goto out;
    }
    tc_cap_format subs_fmt = TC_CAP_VTT;
    if (subs && tc_cap_format_from_path(subs, &subs_fmt) < 0) {
        fprintf(stderr, "talkcast say: --subtitles %s: give a .vtt or .srt file\n", subs);
        rc = 2;
        goto out;
    }
    if (subs && tc_cap_cues_create(&s.cues, 42, 2) < 0) {
        rc = 1;
        goto out;
    }
    s.captions = cfg.captions || cfg.captions_burn;
    if (phon && !(s.tsv = fopen(phon, "w"))) {
        fprintf(stderr, "talkcast say: cannot write %s\n", phon);
        rc = 1;
        goto out;
    }
    if (s.video) s.offset = (int64_t)(LEAD_S * cfg.fps_num / cfg.fps_den + 0.5) * tc_clock_frame_samples(&s.clk, 0);
    s.t0 = tc_now_ns();
    tc_tts_request req = { words[0], NULL, 0, -1 };
    r = tc_tts_speak(tts, &req, sink, &s);
    int64_t synth_ns = tc_now_ns() - s.t0;
    if (s.tsv) fclose(s.tsv);
    s.tsv = NULL;
    if (r < 0) {
        fprintf(stderr, "talkcast say: %s\n",
                r == TC_ERR_INVAL ? "text is empty or too long, or the provider refused it (see log)"
                : r == TC_ERR_NOTFOUND ? "no such voice (see 'talkcast voices')" : tc_strerror(r));
        rc = r == TC_ERR_INVAL || r == TC_ERR_NOTFOUND ? 2 : 1;
        goto out;
    }
    double speech_s = (double)s.n / cfg.sample_rate;
    if (!s.video) {
        r = write_wav(path, s.pcm, s.n, cfg.sample_rate);
        if (r == TC_OK)
            tc_log(&log_ctx, TC_LOG_INFO, "wrote %s: %.2f s of speech, first audio after %.1f ms, %.0fx realtime",
                   path, speech_s, s.first_ns / 1e6, speech_s / (synth_ns / 1e9));
    } else {
        int64_t t1 = tc_now_ns();
        r = render_video(&cfg, &s);
        double took = (tc_now_ns() - s.t0) / 1e9, video_s = speech_s + LEAD_S + TAIL_S;
        if (r == TC_OK)
            tc_log(&log_ctx, TC_LOG_INFO, "wrote %s: %.2f s of video (%.2f s speech) in %.2f s (render %.2f s): %.1fx realtime",
                   path, video_s, speech_s, took, (tc_now_ns() - t1) / 1e9, video_s / took);
    }
    if (r < 0) {
        fprintf(stderr, "talkcast say: cannot write %s: %s\n", path, tc_strerror(r));
        rc = 1;
    } else if (s.cues) {
        tc_cap_cues_finish(s.cues, 0.5);
        r = tc_cap_cues_save(s.cues, subs, subs_fmt);
        if (r < 0) {
            fprintf(stderr, "talkcast say: cannot write %s: %s\n", subs, tc_strerror(r));
            rc = 1;
        } else {
            tc_log(&log_ctx, TC_LOG_INFO, "wrote %s: %d cues", subs, tc_cap_cues_count(s.cues));
        }
    }
out:
    tc_cap_cues_destroy(s.cues);
    if (s.tsv) fclose(s.tsv);
    for (int i = 0; i < s.n_segs; i++) {
        free(s.segs[i].pcm);
        free(s.segs[i].mouth);
        free(s.segs[i].cap_text);
        free(s.segs[i].cap_words);
    }
    free(s.segs);
    free(s.pcm);
    tc_tts_destroy(tts);
    free(args);
    tc_config_free(&cfg);
    tc_cap_release_fonts();
    return rc;
}
