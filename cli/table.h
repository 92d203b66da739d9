/*
 * table: rows of text cells printed either as aligned columns (format=table)
 * or as "Label : value" records (format=list), from the same data.
 */
#ifndef IPSM_TABLE_H
#define IPSM_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct table;

/* headers are borrowed and must outlive the table. */
struct table *table_new(size_t ncols, const char *const *headers);
void table_free(struct table *t);
/* Append a row of ncols cells (copied).  False on out of memory. */
bool table_add(struct table *t, const char *const *cells);
size_t table_rows(const struct table *t);
void table_print(const struct table *t, FILE *f);
void table_print_list(const struct table *t, FILE *f);

#endif
