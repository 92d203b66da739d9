#include <stdint.h>
#include <stdlib.h>

#include "grow.h"

void *
ips_grow(void *v, size_t n, size_t *cap, size_t sz)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < *cap || sz == 0 || ncap > SIZE_MAX / sz)
		return NULL;
	if ((nv = realloc(v, ncap * sz)) == NULL)
		return NULL;
	*cap = ncap;
	return nv;
}
