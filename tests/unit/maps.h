/* The unit tests' look at their own mappings. */
#ifndef TW_TEST_MAPS_H
#define TW_TEST_MAPS_H

#include <stdio.h>
#include <string.h>

/* The start of mapping `name` ("[vvar]", "[vvar_vclock]") in /proc/self/maps,
 * or null when there is none. */
static inline const void *find_mapping(const char *name)
{
	char line[512], want[32];
	unsigned long start = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(want, sizeof(want), " %s\n", name);
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, want) && sscanf(line, "%lx", &start) == 1)
			break;
	if (f)
		fclose(f);
	return (const void *)start;
}

#endif
