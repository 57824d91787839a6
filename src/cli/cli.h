/* cli.h — what the talkcast commands share: loading the configuration
 * (with usage errors printed and turned into exit code 2) and turning it
 * into each module's settings. Only src/cli/ prints to the user. */
#ifndef TC_CLI_H
#define TC_CLI_H

#include "core/config.h"
#include "face/face.h"
#include "stream/engine.h"
#include "tts/tts.h"

/* .env, environment, then argv (options only); 0 or exit code 2. */
int tc_cli_load_config(tc_config *cfg, int argc, char **argv, int *next);
/* Same, but options and words may mix; words are collected (≤ max). */
int tc_cli_load_config_mixed(tc_config *cfg, int argc, char **argv, char **words, int max, int *n_words);

tc_tts_config tc_cli_tts_config(const tc_config *c);
tc_face_config tc_cli_face_config(const tc_config *c);
/* Engine settings; outputs and frame limit as given. */
tc_engine_config tc_cli_engine_config(const tc_config *c, int live, int64_t max_frames);

int tc_cli_say(int argc, char **argv);
int tc_cli_run(int argc, char **argv);
void tc_cli_run_help(void);

#endif
