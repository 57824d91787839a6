/* err.h — the one error enum of talkcast.
 *
 * Every function that can fail returns an int: 0 (TC_OK) on success, a
 * negative tc_err on failure. Codes are append-only so that logs and metrics
 * stay comparable across versions. Foreign errors (libav*, rabbitmq-c, curl,
 * errno) are mapped at the module boundary by one function each; their own
 * message goes to the log, not into the code. */
#ifndef TC_ERR_H
#define TC_ERR_H

typedef enum tc_err {
    TC_OK = 0,
    TC_ERR_NOMEM = -1,       /* an allocation failed */
    TC_ERR_INVAL = -2,       /* an argument or setting is out of range */
    TC_ERR_IO = -3,          /* a file or socket operation failed */
    TC_ERR_NOTFOUND = -4,    /* a file, key or item does not exist */
    TC_ERR_FORMAT = -5,      /* input could not be parsed or decoded */
    TC_ERR_CODEC = -6,       /* an encoder/decoder failed or is missing */
    TC_ERR_AGAIN = -7,       /* not now: try again later (queue full/empty) */
    TC_ERR_EOF = -8,         /* end of stream */
    TC_ERR_CLOSED = -9,      /* the object was closed or stopped */
    TC_ERR_TIMEOUT = -10,    /* an operation did not finish in time */
    TC_ERR_NET = -11,        /* a network peer failed or went away */
    TC_ERR_UNSUPPORTED = -12 /* not supported by this build or input */
} tc_err;

/* A static, human-readable text for any tc_err (or "unknown error"). */
const char *tc_strerror(int err);

/* A stable short name, e.g. "TC_ERR_NOMEM", for logs and metrics labels. */
const char *tc_err_name(int err);

/* Map a negative errno value (e.g. -ENOMEM) to a tc_err. */
int tc_err_from_errno(int neg_errno);

#endif
