/* file.h — replacing a whole file so that a reader sees the old content or
 * the new, never half of either. */
#ifndef TC_FILE_H
#define TC_FILE_H

#include <stddef.h>

/* Write `data` to a new temporary file beside `path` (a unique name, so
 * writers on several threads never share one) and rename it over `path`.
 * TC_OK, or TC_ERR_IO with errno set and no temporary file left behind.
 * Not fsynced: callers that must survive a power cut sync themselves. */
int tc_file_replace(const char *path, const void *data, size_t n);

#endif
