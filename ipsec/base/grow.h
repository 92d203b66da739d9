/*
 * grow: room for one more element in a growable array, the one place that
 * doubles a capacity and checks the multiplication.
 */
#ifndef IPS_GROW_H
#define IPS_GROW_H

#include <stddef.h>

/*
 * Ensure an array v of n used and *cap allocated elements of sz bytes has
 * room for element n.  Returns the array (moved, with *cap updated, if it
 * had to grow), or NULL with v and *cap untouched.
 */
void *ips_grow(void *v, size_t n, size_t *cap, size_t sz);

#endif
