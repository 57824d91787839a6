/* msg.h — the JSON messages talkcast consumes, parsed and validated.
 *
 *   {"v": 1, "type": "text", "id": "b1f…", "text": "Hello there.", "voice": "en-us",
 *    "rate": 175, "pitch": 50, "priority": 0, "interrupt": false,
 *    "timestamp": "2026-11-25T10:00:00Z", "metadata": {"any": "thing"}}
 *   {"v": 1, "type": "control", "id": "c9", "command": "interrupt"}
 *   {"v": 1, "type": "control", "id": "c10", "command": "set_avatar", "args": {"avatar": "astronaut"}}
 *
 * A message that cannot succeed is refused with a one-line reason (which
 * goes into the dead-letter queue's x-talkcast-error header): not JSON,
 * invalid UTF-8, NUL bytes, nesting deeper than 32, over 64 KiB, wrong
 * types, unknown type or command, empty or over-long text, values out of
 * range. Unknown extra fields are ignored so newer senders keep working.
 *
 * Ownership: tc_msg owns its strings; tc_msg_free releases them. */
#ifndef TC_MSG_H
#define TC_MSG_H

#include <stddef.h>

#define TC_MSG_MAX_BODY (64 * 1024)
#define TC_MSG_MAX_TEXT 5000 /* characters, after trimming */
#define TC_MSG_MAX_ID 128

typedef enum tc_msg_type { TC_MSG_TEXT = 0, TC_MSG_CONTROL = 1 } tc_msg_type;

typedef enum tc_msg_command {
    TC_CMD_NONE = 0,
    TC_CMD_INTERRUPT,
    TC_CMD_CLEAR,
    TC_CMD_PAUSE,
    TC_CMD_RESUME,
    TC_CMD_SET_AVATAR,
    TC_CMD_SET_VOICE,
    TC_CMD_PING
} tc_msg_command;

typedef struct tc_msg {
    int v;                    /* schema version (1) */
    tc_msg_type type;
    char id[TC_MSG_MAX_ID + 1];
    char *timestamp;          /* RFC 3339 as sent, or NULL */
    char *metadata;           /* the metadata object re-serialized, or NULL */
    /* text */
    char *text;               /* trimmed */
    char *voice;              /* or NULL */
    int rate;                 /* words per minute, 0 = default */
    int pitch;                /* 0..100, -1 = default */
    int priority;             /* 0..9 */
    int interrupt;            /* cut the current speech first */
    /* control */
    tc_msg_command command;
    char *arg;                /* set_avatar: avatar; set_voice: voice */
} tc_msg;

/* Parse `body` (len bytes, not NUL-terminated). `amqp_id` (may be NULL) is
 * the AMQP message_id property, used when the JSON has no "id". On error
 * returns TC_ERR_FORMAT or TC_ERR_INVAL and writes a one-line reason; *out
 * is then empty (safe to tc_msg_free). */
int tc_msg_parse(const void *body, size_t len, const char *amqp_id, tc_msg *out, char *reason, size_t reason_len);
void tc_msg_free(tc_msg *m);

const char *tc_msg_type_name(tc_msg_type t);
const char *tc_msg_command_name(tc_msg_command c);

#endif
