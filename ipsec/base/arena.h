/*
 * arena: allocate many small objects, free them all at once.  A parsed
 * policy lives in one arena so that no record needs its own free().
 */
#ifndef IPS_ARENA_H
#define IPS_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* Frees every allocation made from the arena; NULL is a no-op. */
/* Frees everything, cleared first (what was in it may have been keys). */
void arena_free(struct arena *a);
/* Zeroed, max_align_t-aligned memory, or NULL.  n == 0 gives a valid
 * pointer. */
void *arena_alloc(struct arena *a, size_t n);
/* n elements of size sz, checking the multiplication. */
void *arena_calloc(struct arena *a, size_t n, size_t sz);
char *arena_strdup(struct arena *a, const char *s);

#endif
