/* Inside the control library: the handle, and what the CLI and the preload
 * library share with it beyond the public header. */
#ifndef TW_CONTROL_H
#define TW_CONTROL_H

#include <limits.h>
#include <sys/types.h>

#include "engine.h"
#include "timewarp.h"

struct tw_ns {
	int fd;
	int writable;          /* opened read-write: may change it */
	struct tw_page *page;  /* mapped read-write when writable */
	dev_t dev;             /* identity of the page file, to find members */
	ino_t ino;
	char path[PATH_MAX];
};

/* How the control library reads host time: the real vDSO found at start-up.  The
 * preload library hands over the host vDSO it found before any rewriting of the
 * auxiliary vector. */
const struct tw_host *tw_control_host(void);
void tw_control_set_host(const struct tw_host *h);

#endif
