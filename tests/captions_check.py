#!/usr/bin/env python3
"""captions_check.py — the 608 captions FFmpeg's own decoder reads back from
a recording, against the WebVTT talkcast wrote for the same speech.

  captions_check.py say VTT RT_SRT BUF_SRT
      RT_SRT: ffmpeg -real_time 1 -f lavfi -i 'movie=F[out0+subcc]' -map 0:s
      (ccaption_dec in real-time mode emits the whole screen at most every
      200 ms while it changes); BUF_SRT: the same without -real_time (one
      subtitle per carriage return / erase, ending at it).
  Checks: the VTT parses with the webvtt package; every word of it, reduced
  to what 608 can carry, shows in the captions in order; each cue's first
  word appears no earlier than 50 ms before and no later than 300 ms after
  the cue's start (= the word's start on the timeline); no word appears
  before its cue starts or more than 300 ms after its cue ends.

  captions_check.py cleared RT_SRT BUF_SRT CUT_S NEXT_S NEXT_TEXT
      After an interrupt at CUT_S (seconds on the file's timeline) the
      captions are erased within 300 ms, and nothing is shown again before
      NEXT_S (the start of the next message, NEXT_TEXT).

  captions_check.py band FILE W H T_IDLE T_SPEAK T_AFTER
      Burned-in captions: the bottom band differs from the idle picture at
      T_SPEAK (white text in it) and not at T_AFTER."""
import re
import sys
import unicodedata

CARRY = set(chr(c) for c in range(0x20, 0x7F)) | set(
    "áéíóúçÑñ█®°½¿™¢£♪àèâêîôûÁÉÓÚÜü‘¡—©℠•“”ÀÂÇÈÊËëÎÏïÔÙùÛ«»ÃãÍÌìÒòÕõÄäÖößÅåØø¥¤¦")
TRANSLIT = {"€": "EUR", "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "…": "...", "–": "-", "×": "x", "’": "'",
            "`": "'"}


def to608(word):
    out = []
    for ch in word:
        if ch in TRANSLIT:
            out.append(TRANSLIT[ch])
        elif ch in CARRY:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch)[:1]
            if base and base.isascii() and base.isalpha():
                out.append(base)
    return "".join(out).replace("’", "'")


def fold(s):
    """Accents off: an extended character is drawn over its plain fallback,
    so a screen caught between the two shows the fallback."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def srt(path):
    """[(start, end, text)] with tags removed and rows joined by spaces."""
    text = open(path, encoding="utf-8").read()
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.strip().split("\n")
        if len(lines) < 2 or "-->" not in lines[1]:
            continue
        a, b = lines[1].split("-->")

        def sec(t):
            h, m, s = t.strip().replace(",", ".").split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
        body = " ".join(lines[2:])
        body = re.sub(r"</?font[^>]*>", "", body)
        body = re.sub(r"\{[^}]*\}", "", body).replace("\\N", " ").replace("\\h", " ").replace("’", "'")
        out.append((sec(a), sec(b) if b.strip()[:2] != "11" else None, " ".join(body.split())))
    return out


def check_say(vtt, rt_path, buf_path):
    import webvtt
    cues = [(c.start_in_seconds, c.end_in_seconds, c.text) for c in webvtt.read(vtt)]
    if not cues:
        sys.exit("the VTT has no cues")
    words = []  # (608 text, cue index; -1-index when not the cue's first word)
    for i, (_, _, text) in enumerate(cues):
        for j, w in enumerate(text.split()):
            w = w.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            n = to608(w)
            if n:
                words.append((n, i if j == 0 else -1 - i))  # -1-i: not the cue's first word
    X = fold(" ".join(w for w, _ in words))
    pos, p = [], 0
    for w, _ in words:
        pos.append(p)
        p += len(w) + 1
    emissions = srt(rt_path)
    if not emissions:
        sys.exit("ffmpeg's decoder found no captions")
    first = [None] * len(words)
    full = [None] * len(words)
    k = 0
    for t, _, S in emissions:
        if not S:
            continue
        S = fold(S)
        # the screen shows the tail of what was typed: find where it ends
        found = None
        for end in range(max(k, len(S)), len(X) + 1):
            if X[:end].endswith(S):
                found = end
                break
        if found is None:
            sys.exit(f"captions at {t:.3f}s show '{S}', not a continuation of the spoken text "
                     f"(typed so far: '{X[:k][-60:]}')")
        k = found
        for i in range(len(words)):
            if first[i] is None and k > pos[i]:
                first[i] = t
            if full[i] is None and k >= pos[i] + len(words[i][0]):
                full[i] = t
    missing = [words[i][0] for i in range(len(words)) if full[i] is None]
    if missing:
        sys.exit(f"words never shown in the 608 captions: {missing[:8]}")
    lat, bad = [], []
    for i, (w, c) in enumerate(words):
        head = c >= 0  # the cue's first word: its start is the cue's
        c = c if head else -1 - c
        cs, ce, _ = cues[c]
        if first[i] < cs - 0.05:
            bad.append(f"'{w}' shown at {first[i]:.3f}s, before its cue at {cs:.3f}s")
        if full[i] > ce + 0.3:
            bad.append(f"'{w}' complete only at {full[i]:.3f}s, its cue ended at {ce:.3f}s")
        if head:
            d = first[i] - cs
            lat.append(d)
            if not -0.05 <= d <= 0.3:
                bad.append(f"cue {c + 1} '{w}' spoken at {cs:.3f}s, shown at {first[i]:.3f}s ({d * 1000:+.0f} ms)")
    if bad:
        sys.exit("; ".join(bad[:5]))
    buf = srt(buf_path)
    # the exact characters (accents included) in the buffered subtitles
    buf_text = " ".join(t for _, _, t in buf)
    lost = [w for w, _ in words if w not in buf_text]
    if lost:
        sys.exit(f"words not shown exactly as 608 carries them: {lost[:8]}")
    print(f"{len(words)} words in {len(cues)} cues all shown in order; first word of each cue shown "
          f"{min(lat) * 1000:+.0f}..{max(lat) * 1000:+.0f} ms (mean {sum(lat) / len(lat) * 1000:+.0f}) "
          f"from its spoken start; {len(emissions)} real-time and {len(buf)} buffered subtitles from ffmpeg")
    return buf_text


def check_cleared(rt_path, buf_path, cut, nxt, next_text):
    """The buffered decoder ends a subtitle at the erase (EDM) that removed
    it (its start is the previous CR/erase, not when text appeared). The
    real-time one stamps an erase with its previous emission's time, so it
    serves only to see that nothing is shown after."""
    buf = srt(buf_path)
    old = [s for s in buf if next_text not in s[2] and s[2]]
    if not old:
        sys.exit("no captions before the interrupt")
    last_end = max(e for _, e, _ in old if e is not None)
    if not cut - 0.1 <= last_end <= cut + 0.3:
        sys.exit(f"captions of the interrupted message erased at {last_end:.3f}s, interrupt at {cut:.3f}s")
    rt = srt(rt_path)
    shown = [s for s in rt if cut + 0.3 < s[0] < nxt and s[2]]
    if shown:
        sys.exit(f"captions shown between the interrupt and the next message: {shown[:2]}")
    print(f"captions erased {(last_end - cut) * 1000:+.0f} ms from the interrupt's cut frame; "
          f"nothing shown until the next message {nxt - cut:.2f} s later")


def gray_frame(path, t, w, h):
    import subprocess
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{t:.3f}", "-i", path, "-frames:v", "1",
                          "-vf", "format=gray", "-f", "rawvideo", "-"], capture_output=True, check=True).stdout
    if len(raw) != w * h:
        sys.exit(f"no frame at {t:.3f}s in {path}")
    return raw


def check_band(path, w, h, t_idle, t_speak, t_after):
    """Burned-in captions: the bottom band (the lowest quarter of the
    picture) differs clearly from the idle picture while speaking, with
    white text pixels in it, and is back to the idle picture after."""
    y0 = h * 3 // 4
    ref = gray_frame(path, t_idle, w, h)[y0 * w:]

    def diff(t):
        f = gray_frame(path, t, w, h)[y0 * w:]
        return sum(abs(a - b) for a, b in zip(f, ref)) / len(ref), max(f)
    d_speak, peak = diff(t_speak)
    d_after, _ = diff(t_after)
    if d_speak < 15 or peak < 200:
        sys.exit(f"no caption band while speaking at {t_speak:.2f}s (mean difference {d_speak:.1f}, brightest {peak})")
    if d_after > 4:
        sys.exit(f"the caption band is still there at {t_after:.2f}s (mean difference {d_after:.1f})")
    print(f"burned-in band: mean luma difference {d_speak:.1f} while speaking (text peak {peak}), "
          f"{d_after:.1f} after the hold")


if __name__ == "__main__":
    if sys.argv[1] == "say":
        check_say(*sys.argv[2:5])
    elif sys.argv[1] == "cleared":
        check_cleared(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    elif sys.argv[1] == "band":
        check_band(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *map(float, sys.argv[5:8]))
    else:
        sys.exit(__doc__)
