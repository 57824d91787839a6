/* err.c — texts for tc_err. The switches have no default case on purpose:
 * the compiler (-Wswitch) flags a new code that has no text. */
#include "core/err.h"

#include <errno.h>

const char *tc_strerror(int err)
{
    switch ((tc_err)err) {
    case TC_OK: return "success";
    case TC_ERR_NOMEM: return "out of memory";
    case TC_ERR_INVAL: return "invalid argument";
    case TC_ERR_IO: return "input/output error";
    case TC_ERR_NOTFOUND: return "not found";
    case TC_ERR_FORMAT: return "malformed or undecodable input";
    case TC_ERR_CODEC: return "codec error";
    case TC_ERR_AGAIN: return "resource temporarily unavailable";
    case TC_ERR_EOF: return "end of stream";
    case TC_ERR_CLOSED: return "closed";
    case TC_ERR_TIMEOUT: return "timed out";
    case TC_ERR_NET: return "network error";
    case TC_ERR_UNSUPPORTED: return "not supported";
    }
    return "unknown error";
}

const char *tc_err_name(int err)
{
    switch ((tc_err)err) {
    case TC_OK: return "TC_OK";
    case TC_ERR_NOMEM: return "TC_ERR_NOMEM";
    case TC_ERR_INVAL: return "TC_ERR_INVAL";
    case TC_ERR_IO: return "TC_ERR_IO";
    case TC_ERR_NOTFOUND: return "TC_ERR_NOTFOUND";
    case TC_ERR_FORMAT: return "TC_ERR_FORMAT";
    case TC_ERR_CODEC: return "TC_ERR_CODEC";
    case TC_ERR_AGAIN: return "TC_ERR_AGAIN";
    case TC_ERR_EOF: return "TC_ERR_EOF";
    case TC_ERR_CLOSED: return "TC_ERR_CLOSED";
    case TC_ERR_TIMEOUT: return "TC_ERR_TIMEOUT";
    case TC_ERR_NET: return "TC_ERR_NET";
    case TC_ERR_UNSUPPORTED: return "TC_ERR_UNSUPPORTED";
    }
    return "TC_ERR_UNKNOWN";
}

int tc_err_from_errno(int neg_errno)
{
    switch (-neg_errno) {
    case 0: return TC_OK;
    case ENOMEM: return TC_ERR_NOMEM;
    case EINVAL: case ERANGE: return TC_ERR_INVAL;
    case ENOENT: return TC_ERR_NOTFOUND;
    case EAGAIN: return TC_ERR_AGAIN;
    case ETIMEDOUT: return TC_ERR_TIMEOUT;
    case EPIPE: case ECONNRESET: case ECONNREFUSED: case ENETUNREACH:
    case EHOSTUNREACH: case ECONNABORTED: return TC_ERR_NET;
    case ENOSYS: case ENOTSUP: return TC_ERR_UNSUPPORTED;
    default: return TC_ERR_IO;
    }
}
